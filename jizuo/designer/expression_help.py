"""Help with expressions as a designer types them: what is wrong and where, which fields
fit the word being typed, and renaming a field inside the expressions that use it.

Checking is the kernel's: ``check_expression`` with the names the expression may read
in its place (a record's fields, or a child row's columns and ``parent``). This module
only adds where in the text the problem is.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Any

from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.expressions import ExpressionError, available_functions, check_expression
from jizuo.platform.metadata import CONTEXT_NAMES, EntityDefinition, Field, validate_definition

COLUMN_AT = re.compile(r" at column (\d+)")
MAX_COMPLETIONS = 50


@dataclass(frozen=True)
class Token:
    kind: int
    text: str
    start: int  # character offsets in the source
    end: int


def tokens_of(source: str) -> list[Token]:
    """The significant tokens of an expression with their offsets ([] if it cannot be split)."""
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.NAME, tokenize.OP, tokenize.STRING, tokenize.NUMBER):
                start = line_starts[tok.start[0] - 1] + tok.start[1]
                end = line_starts[tok.end[0] - 1] + tok.end[1]
                out.append(Token(tok.type, tok.string, start, end))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return out


def _string_value(token: Token) -> Any:
    try:
        return ast.literal_eval(token.text)
    except (ValueError, SyntaxError):
        return None


def rename_in_expression(
    source: str,
    old: str,
    new: str,
    *,
    attribute_of: frozenset[str] = frozenset(),
    bare: bool = True,
    strings: bool = False,
) -> str:
    """``source`` with the name ``old`` replaced by ``new`` where it is read as a variable
    (unless ``bare`` is false) or as an attribute of one of ``attribute_of``
    (``record.old``); function calls stay as they are. With ``strings``, text literals
    equal to ``old`` change too (``sum_of(rows, 'old')``)."""
    tokens = tokens_of(source)
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(tokens):
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind == tokenize.NAME and tok.text == old:
            if before is not None and before.text == ".":
                owner = tokens[i - 2] if i >= 2 else None
                if owner is None or owner.text not in attribute_of:
                    continue
            elif not bare or (after is not None and after.text == "("):
                continue  # not read as a variable, or a function of the same name
            edits.append((tok.start, tok.end, new))
        elif strings and tok.kind == tokenize.STRING and _string_value(tok) == old:
            quote = tok.text[-1]
            edits.append((tok.start, tok.end, f"{quote}{new}{quote}"))
    for start, end, text in reversed(edits):
        source = source[:start] + text + source[end:]
    return source


def _position(source: str, exc: ExpressionError) -> tuple[int, int] | None:
    """Where in ``source`` the problem is: the column of a syntax error, or the first use of
    the unknown name or function the message quotes."""
    found = COLUMN_AT.search(exc.reason)
    if found:
        # The kernel parses the stripped text and counts columns from 1.
        column = int(found.group(1)) - 1 + (len(source) - len(source.lstrip()))
        return column, column + 1
    if exc.reason.startswith("syntax error"):
        end = len(source.rstrip())  # Python gives no column when the text ends too soon
        return end, end
    quoted = re.search(r"unknown (?:name|names|function) '([^']+)'", exc.reason)
    if quoted:
        for tok in tokens_of(source):
            if tok.kind == tokenize.NAME and tok.text == quoted.group(1):
                return tok.start, tok.end
    return None


def problem_at(source: str, exc: ExpressionError) -> dict[str, Any]:
    """The kernel's message of a refused expression with where in the text it points."""
    where = _position(source, exc)
    problem: dict[str, Any] = {"message": exc.reason, "start": None, "end": None}
    if where:
        problem["start"], problem["end"] = where
    return problem


def expression_names(definition: EntityDefinition, table: str | None) -> dict[str, Field | None]:
    """The names an expression may read: a record's fields (or, in a child table's column, the
    row's columns and ``parent``) plus ``record`` and ``user``."""
    names: dict[str, Field | None] = dict.fromkeys(CONTEXT_NAMES)
    if table is None:
        names.update(definition.fields)
        return names
    found = definition.fields.get(table)
    if found is None or found.kind != "child_table":
        raise ValidationFailed(
            f"'{table}' is not a child table of the draft.",
            errors=[error("/table", "name a child table of the draft")],
        )
    names.update(found.children)
    names["parent"] = None
    return names


def check_draft_expression(draft: dict[str, Any], source: Any, table: str | None = None) -> dict:
    """Whether ``source`` is a valid expression in the draft (in ``table``'s rows if given);
    when not, the kernel's message and where in the text it points."""
    if not isinstance(source, str):
        raise ValidationFailed(
            "Send the expression as text.", errors=[error("/expression", "expected a string")]
        )
    names = expression_names(validate_definition(draft), table)
    try:
        parsed = check_expression(source, names)
    except ExpressionError as exc:
        return {"valid": False, "errors": [problem_at(source, exc)], "names": []}
    return {"valid": True, "errors": [], "names": sorted(parsed.names)}


def _title_text(title: Any) -> str:
    if isinstance(title, dict):
        return " ".join(str(v) for v in title.values())
    return str(title or "")


def complete_names(
    draft: dict[str, Any], prefix: str, table: str | None = None
) -> list[dict[str, Any]]:
    """Fields (and functions) whose name starts with ``prefix``, or fields whose title holds it,
    for completion as an expression is typed; fields first, by key."""
    names = expression_names(validate_definition(draft), table)
    wanted = prefix.strip().lower()
    out: list[dict[str, Any]] = []
    for key, found in sorted(names.items()):
        title = found.schema.get("title") if found else None
        if key.startswith(wanted) or (wanted and wanted in _title_text(title).lower()):
            out.append(
                {
                    "name": key,
                    "kind": found.kind if found else "context",
                    "title": title,
                    "insert": key,
                }
            )
    for name in sorted(available_functions()):
        if name.startswith(wanted) and wanted:
            out.append({"name": name, "kind": "function", "title": None, "insert": f"{name}("})
    return out[:MAX_COMPLETIONS]
