"""Creating and upgrading the platform's tables with the Alembic scripts shipped in the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import jizuo.migrations

MIGRATIONS_DIR = Path(jizuo.migrations.__file__).parent

#: Prefixes of the per-entity expression indexes on ``records`` (see ``record_indexes``).
DYNAMIC_INDEX_PREFIXES = ("ix_rec_", "uq_rec_")


def is_dynamic_index(name: str) -> bool:
    """Whether an index was made at publish time for an ``x-index``/``x-unique`` field."""
    return name.startswith(DYNAMIC_INDEX_PREFIXES)


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Autogenerate filter: per-entity indexes are made at publish time, not by migrations."""
    return not (type_ == "index" and name and is_dynamic_index(name))


def alembic_config() -> Config:
    """An Alembic config pointing at the scripts inside the installed package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (idempotent)."""
    config = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if sqlite:
            # SQLite alters a table by copying it and dropping the original; with foreign
            # keys on, that drop would cascade and delete the rows that refer to it.
            # The pragma only takes effect outside a transaction, hence the raw connection.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The single head of the shipped scripts."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads, expected one: {heads}")
    return heads[0]
