"""Alembic environment: runs against the connection ``jizuo.platform.schema`` hands over."""

from __future__ import annotations

from alembic import context

from jizuo.platform import models  # noqa: F401 - registers the tables on Base.metadata
from jizuo.platform.db import Base
from jizuo.platform.schema import is_dynamic_index

config = context.config


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001, ANN201
    # Expression indexes on records are created per entity at publish time, not by
    # migrations, so autogenerate must not propose to drop them.
    return not (type_ == "index" and name and is_dynamic_index(name))


def run_migrations() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
