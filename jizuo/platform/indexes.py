"""Per-entity expression indexes on ``records`` for ``x-index`` and ``x-unique`` fields.

Made at publish time, partial on the entity (``WHERE entity_id = N``), with the very
expression the filters use (``query.json_path_sql``), so both databases use them.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Index, MetaData, Table, literal_column, text
from sqlalchemy.orm import Session

from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.models import Record
from jizuo.platform.query import json_path_sql

MAX_NAME = 63  # PostgreSQL's identifier limit


def index_name(prefix: str, entity_id: int, key: str) -> str:
    """A stable index name within PostgreSQL's 63 characters."""
    name = f"{prefix}e{entity_id}_{key}"
    if len(name) > MAX_NAME:
        name = f"{name[:50]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return name


def wanted_indexes(
    dialect: str, table: Table, entity_id: int, defn: EntityDefinition
) -> dict[str, Index]:
    """The indexes an entity's definition asks for, by name, on ``table`` (a copy of records)."""
    wanted = {}
    only_entity = table.c.entity_id == literal_column(str(int(entity_id)))
    for f in defn.fields.values():
        expr = json_path_sql(dialect, table.c.data, [f.key], f.sql_type)
        if f.schema.get("x-index"):
            # (value, id): an equality filter reads the matching rows already in the
            # listing's default order (newest id first), with no sort and no statistics.
            name = index_name("ix_rec_", entity_id, f.key)
            wanted[name] = Index(
                name, expr, table.c.id, postgresql_where=only_entity, sqlite_where=only_entity
            )
        if f.schema.get("x-unique"):
            live = only_entity & table.c.deleted_at.is_(None)
            name = index_name("uq_rec_", entity_id, f.key)
            wanted[name] = Index(name, expr, unique=True, postgresql_where=live, sqlite_where=live)
    return wanted


def record_index_names(connection: Connection) -> set[str]:
    """Names of the indexes on ``records``, read from the catalog.

    SQLAlchemy's reflection skips expression indexes, which are exactly the ones we make.
    """
    if connection.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'records' " \
                "AND schemaname = current_schema()"  # fmt: skip
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"
    return {name for (name,) in connection.execute(text(query)) if name}


def sync_record_indexes(session: Session, entity_id: int, defn: EntityDefinition) -> None:
    """Create the indexes the definition asks for and drop those it no longer does."""
    connection = session.connection()
    # A private copy of the table: indexes made on it stay out of the models' metadata.
    table = Record.__table__.to_metadata(MetaData())
    wanted = wanted_indexes(connection.dialect.name, table, entity_id, defn)
    prefixes = (f"ix_rec_e{entity_id}_", f"uq_rec_e{entity_id}_")
    existing = {name for name in record_index_names(connection) if name.startswith(prefixes)}
    for name in sorted(existing - set(wanted)):
        # Names are made by index_name from checked keys: safe to quote and inline.
        connection.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    for name, index in wanted.items():
        if name not in existing:
            index.create(connection)
