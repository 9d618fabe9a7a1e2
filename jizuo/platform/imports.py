"""Imports of CSV and XLSX files into an entity: options, column mapping, row conversion,
and the report of what was refused and why.

How an import runs (dry run, all-or-nothing or valid rows only, as a job) is
``import_runs``; reading files is ``import_files``, cell values ``import_values`` and
look-ups of referenced records ``import_lookups``. Every converted row then goes through
the record store's own checks (``EntityRecords.check_many`` / ``create_valid``), so an
imported record obeys exactly what the forms and the API enforce.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jizuo.platform.errors import BadRequest, ValidationFailed, error
from jizuo.platform.import_lookups import RECORD_ID, ReferenceLookup, resolve_users
from jizuo.platform.import_values import (
    DATE_ORDERS,
    DECIMAL_SIGNS,
    CellError,
    ValueRules,
    convert_cell,
)
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.records import EntityRecords

ALL_OR_NOTHING, VALID_ROWS = "all_or_nothing", "valid_rows"
MODES = (ALL_OR_NOTHING, VALID_ROWS)
#: Errors a report lists (all are counted, per column too).
DEFAULT_MAX_ERRORS = 200
#: Field types a column cannot fill: the platform computes them.
PLATFORM_WRITTEN = frozenset({"computed", "auto_number"})


@dataclass(frozen=True)
class ImportOptions:
    """What the importer chose: ``mapping`` (column header → field key, or None to leave the
    column out; headers not named are matched automatically), ``reference_keys`` (reference
    or user field → the field of the referenced entity its cells name, default the record
    id), ``mode``, how to read dates and decimals, and where the table is in the file."""

    mapping: dict[str, str | None] = field(default_factory=dict)
    reference_keys: dict[str, str] = field(default_factory=dict)
    mode: str = ALL_OR_NOTHING
    date_order: str = "day_first"
    decimal_sign: str = "auto"
    sheet: str | None = None
    header_row: int = 1

    @classmethod
    def from_json(cls, raw: Any) -> ImportOptions:
        """Options from JSON (an API request, a form, a job's arguments); 400 with paths."""
        if not isinstance(raw, dict):
            raise BadRequest("The import options must be an object.", errors=[error("", "object")])
        problems = []
        mapping = raw.get("mapping") or {}
        if not isinstance(mapping, dict) or not all(
            isinstance(v, str | None) for v in mapping.values()
        ):
            problems.append(error("/mapping", "an object of column → field key (or null)"))
        keys = raw.get("reference_keys") or {}
        if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
            problems.append(error("/reference_keys", "an object of field → key field"))
        for name, allowed in (
            ("mode", MODES),
            ("date_order", DATE_ORDERS),
            ("decimal_sign", DECIMAL_SIGNS),
        ):
            if name in raw and raw[name] not in allowed:
                problems.append(error(f"/{name}", f"use one of: {', '.join(allowed)}"))
        sheet = raw.get("sheet") or None
        if sheet is not None and not isinstance(sheet, str):
            problems.append(error("/sheet", "the name of a sheet"))
        header_row = raw.get("header_row", 1)
        if isinstance(header_row, str) and header_row.isdigit():
            header_row = int(header_row)
        if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
            problems.append(error("/header_row", "a row number from 1"))
        if problems:
            raise BadRequest("The import options are not valid.", errors=problems)
        return cls(
            mapping=dict(mapping),
            reference_keys=dict(keys),
            mode=raw.get("mode", ALL_OR_NOTHING),
            date_order=raw.get("date_order", "day_first"),
            decimal_sign=raw.get("decimal_sign", "auto"),
            sheet=sheet,
            header_row=header_row,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "reference_keys": self.reference_keys,
            "mode": self.mode,
            "date_order": self.date_order,
            "decimal_sign": self.decimal_sign,
            "sheet": self.sheet,
            "header_row": self.header_row,
        }


# -- mapping columns to fields ------------------------------------------------------------


def _normal(text: Any) -> str:
    """Compared without case, spaces, underscores, hyphens or a required mark."""
    return "".join(str(text).casefold().replace("_", " ").replace("-", " ").split()).rstrip("*")


def _names(f: Field, locale: str) -> list[str]:
    """What a column for ``f`` may be called: its key, its title in the locale, other titles."""
    title = f.schema.get("title")
    titles = [title] if isinstance(title, str) else []
    if isinstance(title, dict):
        titles = [title.get(locale)] + [t for lang, t in sorted(title.items()) if lang != locale]
    return [f.key] + [t for t in titles if t]


def importable_fields(definition: EntityDefinition, writable: Any = None) -> list[Field]:
    """The top-level fields a column can fill (computed and auto-numbered ones cannot;
    ``writable(key)`` leaves out those the importer may not write)."""
    return [
        f
        for f in definition.fields.values()
        if f.kind not in PLATFORM_WRITTEN and (writable is None or writable(f.key))
    ]


def suggest_mapping(
    definition: EntityDefinition, headers: list[str], locale: str = "en", writable: Any = None
) -> dict[str, str | None]:
    """Each header → the field whose key or title (English or Chinese, any case or spacing)
    it names, or None; a field goes to the first header naming it."""
    candidates: dict[str, str] = {}
    for f in importable_fields(definition, writable):
        for name in _names(f, locale):
            candidates.setdefault(_normal(name), f.key)
    taken: set[str] = set()
    out: dict[str, str | None] = {}
    for header in headers:
        if not header:
            continue
        key = candidates.get(_normal(header))
        out[header] = key if key is not None and key not in taken else None
        if key is not None:
            taken.add(key)
    return out


@dataclass(frozen=True)
class Column:
    """A column of the file that fills a field."""

    index: int
    header: str
    field: Field


@dataclass
class ImportPlan:
    """Which column fills which field and how references are found, checked up front."""

    records: EntityRecords
    headers: list[str]
    mapping: dict[str, str | None]
    columns: list[Column]
    lookups: dict[str, ReferenceLookup]
    rules: ValueRules
    options: ImportOptions

    def column_of(self, key: str) -> str | None:
        """The header of the column filling field ``key``."""
        return next((c.header for c in self.columns if c.field.key == key), None)


def plan_import(
    records: EntityRecords, headers: list[str], options: ImportOptions, locale: str = "en"
) -> ImportPlan:
    """Check the mapping against the file and the entity; ValidationFailed with every problem
    (a column the file lacks, an unknown or platform-written field, a field the importer may
    not write, a field filled twice, a required field no column fills, a bad key field)."""
    access, definition = records.access, records.definition
    hidden = access.hidden
    mapping = suggest_mapping(definition, headers, locale, access.may_write)
    problems = []
    chosen = {key for key in options.mapping.values() if key}
    for header, key in mapping.items():
        if header not in options.mapping and key in chosen:
            mapping[header] = None  # the importer put another column there
    for header, key in options.mapping.items():
        where = f"/mapping/{_escape(header)}"
        if not header or header not in headers:
            problems.append(error(where, f"the file has no column '{header}'", "column"))
            continue
        mapping[header] = key or None
        if not key:
            continue
        f = definition.fields.get(key)
        if f is None or key in hidden:
            problems.append(error(where, f"'{definition.key}' has no field '{key}'", "unknown"))
        elif f.kind in PLATFORM_WRITTEN:
            problems.append(error(where, f"'{key}' is computed by the platform", "read_only"))
        elif not access.may_write(key):
            problems.append(error(where, f"you may not change '{key}'", "read_only"))
    filled = Counter(key for key in mapping.values() if key)
    for header, key in mapping.items():
        if key and filled[key] > 1:
            where = f"/mapping/{_escape(header)}"
            problems.append(error(where, f"{filled[key]} columns fill '{key}'", "twice"))
    for key in definition.required:
        f = definition.fields.get(key)
        if f and f.kind not in PLATFORM_WRITTEN and "default" not in f.schema:
            if key not in filled:
                problems.append(error("/mapping", f"no column fills '{key}'", "required"))
    columns = [
        Column(i, header, definition.fields[mapping[header]])
        for i, header in enumerate(headers)
        if header and mapping.get(header) and mapping[header] in definition.fields
    ]
    lookups = {}
    for key in options.reference_keys:
        f = definition.fields.get(key)
        if f is None or f.kind != "reference" or key not in filled:
            problems.append(
                error(f"/reference_keys/{key}", f"'{key}' is not a reference column", "unknown")
            )
    for column in columns:
        f = column.field
        if f.kind != "reference":
            continue
        key = options.reference_keys.get(f.key, RECORD_ID)
        try:
            lookups[f.key] = ReferenceLookup(
                records.session, records.actor, f, key, f"/reference_keys/{f.key}"
            )
        except ValidationFailed as exc:
            problems += exc.errors
    if problems:
        raise ValidationFailed("The import cannot start: check the mapping.", errors=problems)
    rules = ValueRules(options.date_order, options.decimal_sign)
    full = {header: mapping.get(header) for header in headers if header}
    return ImportPlan(records, headers, full, columns, lookups, rules, options)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# -- converting rows ----------------------------------------------------------------------


def convert_rows(
    plan: ImportPlan, rows: list[tuple[int, list[Any]]]
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Each row's record data, and its conversion and look-up errors (report entries)."""
    converted, problems = [], []
    for number, cells in rows:
        data: dict[str, Any] = {}
        row_problems = []
        for column in plan.columns:
            cell = cells[column.index] if column.index < len(cells) else None
            try:
                value = convert_cell(column.field, cell, plan.rules)
            except CellError as exc:
                row_problems.append(_entry(number, column.header, column.field.key, str(exc)))
                continue
            if value is not None and value != []:
                data[column.field.key] = value
        converted.append(data)
        problems.append(row_problems)
    _look_up(plan, rows, converted, problems)
    return converted, problems


def _look_up(
    plan: ImportPlan,
    rows: list[tuple[int, list[Any]]],
    converted: list[dict[str, Any]],
    problems: list[list[dict[str, Any]]],
) -> None:
    """Replace reference and user keys with record and user ids: one query per field."""
    for column in plan.columns:
        f = column.field
        if f.kind not in ("reference", "user"):
            continue
        texts = [t for data in converted for t in _listed(data.get(f.key))]
        if not texts:
            continue
        if f.kind == "reference":
            found = plan.lookups[f.key].resolve(texts)
        else:
            found = resolve_users(plan.records.session, plan.records.actor.workspace_id, texts)
        for (number, _cells), data, row_problems in zip(rows, converted, problems, strict=True):
            value = data.get(f.key)
            if value is None:
                continue
            ids = []
            for text in _listed(value):
                hit = found[text]
                if isinstance(hit, CellError):
                    row_problems.append(_entry(number, column.header, f.key, str(hit)))
                else:
                    ids.append(hit)
            data[f.key] = ids if isinstance(value, list) else (ids[0] if ids else None)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _entry(
    row: int, column: str | None, key: str | None, message: str, code: str = "conversion"
) -> dict[str, Any]:
    return {"row": row, "column": column, "field": key, "message": message, "code": code}


def store_errors(plan: ImportPlan, row: int, errors: list[dict[str, str]]) -> list[dict]:
    """The record store's errors of one row (JSON pointers) as report entries."""
    out = []
    for e in errors:
        key = e["path"].split("/")[1] if e["path"].count("/") >= 1 and e["path"] else None
        entry = _entry(row, plan.column_of(key) if key else None, key, e["message"], e["code"])
        if key and e["path"] != f"/{key}":
            entry["path"] = e["path"]  # inside a child table: which row and column
        out.append(entry)
    return out


class FileUniques:
    """``x-unique`` values met earlier in the file, for checks made before anything is
    written (a dry run): the database only knows the values already stored."""

    def __init__(self, plan: ImportPlan):
        self.plan = plan
        self.fields = [c.field.key for c in plan.columns if c.field.schema.get("x-unique")]
        self.seen: dict[str, dict[Any, int]] = {key: {} for key in self.fields}

    def errors(self, row: int, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Entries for values of ``data`` an earlier row used; otherwise remember them."""
        out = []
        for key in self.fields:
            value = data.get(key)
            if value is None:
                continue
            earlier = self.seen[key].get(value)
            if earlier is not None:
                message = f"'{value}' is already used by row {earlier} of the file"
                out.append(_entry(row, self.plan.column_of(key), key, message, "unique"))
        if not out:
            for key in self.fields:
                if data.get(key) is not None:
                    self.seen[key][data[key]] = row
        return out


# -- the report ---------------------------------------------------------------------------


@dataclass
class ImportReport:
    """Counts of an import and its first errors, each with row, column, field and message."""

    max_errors: int = DEFAULT_MAX_ERRORS
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    written: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    by_column: Counter = field(default_factory=Counter)

    def add_row(self, entries: list[dict[str, Any]]) -> None:
        """Count one row with its errors (none: a valid row)."""
        self.rows += 1
        if not entries:
            self.valid += 1
            return
        self.invalid += 1
        for entry in entries:
            self.by_column[entry["column"] or ""] += 1
            if len(self.errors) < self.max_errors:
                self.errors.append(entry)

    def merge(self, part: dict[str, Any]) -> None:
        """Add the counts and errors of a part already reported (a committed batch)."""
        for name in ("rows", "valid", "invalid", "written"):
            setattr(self, name, getattr(self, name) + part.get(name, 0))
        self.by_column.update(part.get("errors_by_column", {}))
        room = self.max_errors - len(self.errors)
        self.errors.extend(part.get("errors", [])[: max(0, room)])

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "valid": self.valid,
            "invalid": self.invalid,
            "written": self.written,
            "errors": self.errors,
            "errors_by_column": dict(self.by_column),
            "more_errors": sum(self.by_column.values()) > len(self.errors),
        }
