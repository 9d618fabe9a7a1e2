"""Finding the records and users an imported file names, a batch of rows at a time.

A reference column holds a key of the referenced record: its id, or the value of a field
the importer chose (a supplier's ``code``). Keys are looked up with one query per
reference field and batch, among the records the importer may read (row scope applied),
so an import cannot link to — or learn of — records its importer cannot see. User columns
hold usernames (or user ids) of members of the workspace.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.catalog import get_app_entity, published_of
from jizuo.platform.errors import NotFound, ValidationFailed, error
from jizuo.platform.import_values import CellError, parse_decimal
from jizuo.platform.metadata import Field
from jizuo.platform.models import Membership, Record, User
from jizuo.platform.permissions import readable_records
from jizuo.platform.query import field_sql

#: The key of a reference column that holds record ids.
RECORD_ID = "id"
#: Field types a reference can be looked up by.
KEY_KINDS = frozenset(
    {"text", "email", "phone", "url", "auto_number", "single_select", "integer", "decimal"}
)


class ReferenceLookup:
    """Resolves one reference field's cells by the chosen key field of the target entity."""

    def __init__(self, session: Session, actor: Actor, field: Field, key: str, path: str):
        self.session = session
        self.field = field
        self.key = key
        app_key, _, entity_key = (field.ref or "").partition(".")
        # As in the record store, a token limited to some apps may still link elsewhere.
        unlimited = dataclasses.replace(actor, app_keys=None)
        try:
            app, entity = get_app_entity(session, unlimited, app_key, entity_key)
            readable = readable_records(session, actor, app, entity)
        except NotFound:
            readable = None
        if readable is None:
            problem = f"you may not read '{field.ref}' records, so none can be linked"
            raise ValidationFailed(problem, errors=[error(path, problem, "reference")])
        self.query, access = readable
        self.key_field: Field | None = None
        if key != RECORD_ID:
            target = published_of(session, entity).definition
            found = target.fields.get(key)
            if found is None or key in access.hidden or found.kind not in KEY_KINDS:
                problem = f"'{field.ref}' has no field '{key}' to find records by"
                raise ValidationFailed(problem, errors=[error(path, problem, "reference")])
            self.key_field = found

    def _typed(self, text: str) -> Any:
        """The key as the key field stores it (ids and numbers as numbers)."""
        if self.key_field is None or self.key_field.sql_type == "number":
            number = parse_decimal(text)
            if self.key_field is None:
                if number != number.to_integral_value():
                    raise CellError(f"'{text}' is not a record id")
                return int(number)
            return int(number) if number == number.to_integral_value() else number
        return text

    def resolve(self, cells: list[str]) -> dict[str, int | CellError]:
        """Each distinct cell text → the id of the one readable record it names, or why not."""
        out: dict[str, int | CellError] = {}
        typed: dict[Any, list[str]] = defaultdict(list)
        for text in set(cells):
            try:
                typed[self._typed(text)].append(text)
            except CellError as exc:
                out[text] = exc
        if not typed:
            return out
        dialect = self.session.get_bind().dialect.name
        if self.key_field is None:
            column = Record.id
            wanted = list(typed)
        else:
            column = field_sql(dialect, self.key_field)
            wanted = list(typed)
            if dialect == "sqlite":
                wanted = [float(v) if isinstance(v, Decimal) else v for v in wanted]
        query = self.query.add_columns(column).where(column.in_(wanted))
        matches: dict[Any, list[int]] = defaultdict(list)
        for record_id, value in self.session.execute(query):
            matches[_comparable(value)].append(record_id)
        ref = self.field.ref
        for value, texts in typed.items():
            ids = matches.get(_comparable(value), [])
            for text in texts:
                if len(ids) == 1:
                    out[text] = ids[0]
                elif not ids and self.key == RECORD_ID:
                    out[text] = CellError(f"no '{ref}' record with id {text}")
                elif not ids:
                    out[text] = CellError(f"no '{ref}' record with {self.key} '{text}'")
                else:
                    out[text] = CellError(
                        f"{len(ids)} '{ref}' records have {self.key} '{text}'; "
                        "choose a key field whose values are unique"
                    )
        return out


def _comparable(value: Any) -> Any:
    """Numbers from JSON, SQL and the file compare equal whatever their Python type."""
    if isinstance(value, float | Decimal) and value == int(value):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def resolve_users(session: Session, workspace_id: int, cells: list[str]) -> dict[str, Any]:
    """Each distinct cell → the id of the workspace member with that username (any case),
    or of that user id; a CellError where there is none."""
    out: dict[str, Any] = {}
    names = {text.lower(): text for text in set(cells) if not text.isdigit()}
    ids = {int(text): text for text in set(cells) if text.isdigit()}
    found: dict[str, int] = {}
    if names:
        rows = session.execute(
            select(func.lower(User.username), User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.workspace_id == workspace_id,
                func.lower(User.username).in_(list(names)),
            )
        )
        found = {name: user_id for name, user_id in rows}
    members: set[int] = set()
    if ids:
        members = set(
            session.scalars(
                select(Membership.user_id).where(
                    Membership.workspace_id == workspace_id, Membership.user_id.in_(list(ids))
                )
            )
        )
    for text in set(cells):
        if text.isdigit():
            user_id = int(text)
            out[text] = user_id if user_id in members else CellError(f"no member with id {text}")
        else:
            user_id = found.get(text.lower())
            out[text] = user_id if user_id else CellError(f"no member named '{text}'")
    return out
