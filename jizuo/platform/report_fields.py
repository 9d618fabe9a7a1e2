"""Field paths of reports resolved against the published entities.

A report names its fields by dotted paths from the source record, the same way list
filters do, and follows references through their field names to any depth::

    lot_no                 a field of the source record
    supplier.name          the name of the supplier the record references (a join)
    supplier.country.code  two references deep, across apps if the references say so
    defects.code           a column of the child table ``defects``
    defects.part.weight    a reference inside a child row, followed per row
    created_at             a system column (id, state, version, created_at/by, updated_at/by)

The resolver turns each path into a :class:`FieldRef` (where the value lives, its type,
and the top-level fields it passes through, so the viewer's hidden fields can be checked)
and collects the joins the paths need, each once. It knows nothing about the viewer: what
the viewer may read is checked when the report runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.catalog import published_of
from jizuo.platform.errors import NotFound
from jizuo.platform.expression_errors import suggest
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.models import App, Entity

#: Where a value lives: the source record, the current child row, or a join's key.
SOURCE, ROW = "", "~row"
SYSTEM_TYPES = {
    "id": "integer", "state": "text", "version": "integer", "entity_version": "integer",
    "created_at": "datetime", "created_by": "integer",
    "updated_at": "datetime", "updated_by": "integer",
}  # fmt: skip
SCALAR_TYPES = ("integer", "number", "text", "boolean", "date", "datetime")
NUMERIC_TYPES = ("integer", "number")


class PathError(Exception):
    """A path that names nothing a report can read; the message says why."""


@dataclass(frozen=True)
class Source:
    """An entity a report reads: its source, or one a reference leads to."""

    app: App
    entity: Entity
    definition: EntityDefinition

    @property
    def ref(self) -> str:
        return f"{self.app.key}.{self.definition.key}"


@dataclass(frozen=True)
class Join:
    """A reference followed: the records of ``target`` whose id ``field`` holds."""

    key: str  # the path that reaches it, e.g. "supplier" or "supplier.country"
    origin: str  # SOURCE, ROW or the key of the join it starts from
    field: Field
    target: Source


@dataclass(frozen=True)
class FieldRef:
    """A resolved path."""

    path: str
    at: str  # SOURCE, ROW or a join key
    type: str  # integer, number, text, boolean, date, datetime; array or object otherwise
    field: Field | None = None  # None for a system column
    system: str | None = None
    #: One value per child row (at a child-table grain) rather than per record.
    row_level: bool = False
    #: A child-table column read at record grain: several values per record.
    in_table: Field | None = None
    #: (SOURCE or join key, top-level field key) for every field the path passes through.
    guards: tuple[tuple[str, str], ...] = ()

    @property
    def sql_type(self) -> str:
        """How the value compares in SQL (see ``query``): number, boolean, datetime or text."""
        if self.system is not None:
            return "datetime" if self.type == "datetime" else self.type.replace("integer", "number")
        assert self.field is not None
        return self.field.sql_type

    def json_path(self) -> list[str]:
        """The keys leading to the value inside its JSON document (record data or child row)."""
        assert self.field is not None
        parts = self.field.path.split(".")
        return parts[1:] if self.at == ROW or self.in_table is not None else parts


def value_type(f: Field) -> str:
    """The type a field's values have in a report."""
    json_type = f.schema.get("type")
    if json_type == "string":
        return {"date": "date", "date-time": "datetime"}.get(f.schema.get("format"), "text")
    return json_type if isinstance(json_type, str) else "text"


def load_source(session: Session, workspace_id: int, ref: str) -> Source:
    """The published entity ``app.entity`` of a workspace; PathError if there is none."""
    app_key, _, entity_key = ref.partition(".")
    row = session.execute(
        select(App, Entity)
        .join(Entity, Entity.app_id == App.id)
        .where(App.workspace_id == workspace_id, App.key == app_key, Entity.key == entity_key)
    ).first()
    if row is None:
        raise PathError(f"there is no entity '{ref}'")
    try:
        definition = published_of(session, row[1]).definition
    except NotFound:
        raise PathError(f"'{ref}' has not been published") from None
    return Source(row[0], row[1], definition)


class Resolver:
    """Resolves the paths of one report, collecting the joins they need."""

    def __init__(self, session: Session, actor: Actor, source: Source, rows: Field | None):
        self.session = session
        self.actor = actor
        self.source = source
        self.rows = rows  # the child table that is the report's grain, or None
        self.joins: dict[str, Join] = {}

    def resolve(self, path: str) -> FieldRef:
        """The FieldRef of a dotted path; PathError says what is wrong with it."""
        parts = path.split(".")
        at, entity = SOURCE, self.source
        fields, at_root = entity.definition.fields, True
        table: Field | None = None
        guards: list[tuple[str, str]] = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[:i]) or entity.ref
            if at_root and part in SYSTEM_TYPES:
                if not last:
                    raise PathError(f"'{part}' is a system column and has no fields")
                return FieldRef(path, at, SYSTEM_TYPES[part], system=part, guards=tuple(guards))
            found = fields.get(part)
            if found is None:
                known = [*fields, *SYSTEM_TYPES] if at_root else fields
                raise PathError(f"'{where}' has no field '{part}'" + suggest(part, known))
            if at_root:
                guards.append((at, part))
            at_root = False
            if found.kind == "child_table":
                if at != SOURCE or table is not None:
                    raise PathError(
                        f"'{'.'.join(parts[: i + 1])}' is a child table of a referenced record; "
                        "reports read the child tables of their source entity only"
                    )
                if last:
                    raise PathError(f"'{path}' is a child table: name one of its columns")
                if self.rows is not None and found.key == self.rows.key:
                    at = ROW
                else:
                    table = found
                fields = found.children
                continue
            if found.kind == "reference" and not last:
                if table is not None:
                    raise PathError(
                        f"'{'.'.join(parts[: i + 1])}' is a reference in a child table: make "
                        f"'{table.key}' the report's rows to follow it"
                    )
                key = ".".join(parts[: i + 1])
                if key not in self.joins:
                    self.joins[key] = Join(key, at, found, self._target(found, key))
                at, entity = key, self.joins[key].target
                fields, at_root = entity.definition.fields, True
                continue
            if not last:
                if found.kind != "object":
                    kind = found.kind.replace("_", " ")
                    raise PathError(f"'{'.'.join(parts[: i + 1])}' is a {kind} field")
                fields = found.children
                continue
            return FieldRef(
                path,
                at,
                value_type(found),
                field=found,
                row_level=at == ROW or (at != SOURCE and self._row_join(at)),
                in_table=table,
                guards=tuple(guards),
            )
        raise AssertionError(path)  # pragma: no cover - the loop returns on the last part

    def _target(self, f: Field, key: str) -> Source:
        try:
            return load_source(self.session, self.actor.workspace_id, f.ref or "")
        except PathError as exc:
            raise PathError(f"'{key}' refers to '{f.ref}', but {exc}") from None

    def _row_join(self, key: str) -> bool:
        """Whether a join starts (directly or not) from the current child row."""
        while key not in (SOURCE, ROW):
            key = self.joins[key].origin
        return key == ROW
