"""Migrations: one head, and the migrated schema equals the models."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jizuo.platform.db import Base, engine_of
from jizuo.platform.schema import current_revision, head_revision, include_object


def test_single_head_and_database_at_head(app):
    assert current_revision(engine_of(app)) == head_revision()


def test_migrated_schema_matches_the_models(app, session):
    from tests import factories

    # Publish an x-index field so a per-entity index exists: it must not count as drift.
    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    with engine_of(app).connect() as connection, warnings.catch_warnings():
        # SQLAlchemy warns that it cannot reflect expression indexes; they are ours.
        warnings.simplefilter("ignore")
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
