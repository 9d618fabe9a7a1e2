"""Alembic environment: runs against the connection ``jizuo.platform.schema`` hands over."""

from __future__ import annotations

from alembic import context

from jizuo.platform import models  # noqa: F401 - registers the tables on Base.metadata
from jizuo.platform.db import Base
from jizuo.platform.schema import include_object

config = context.config


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
