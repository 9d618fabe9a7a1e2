"""Migrations: one head, and the migrated schema equals the models."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from jizuo.platform.db import Base, engine_of, make_engine
from jizuo.platform.schema import current_revision, head_revision, include_object, upgrade_database
from tests.conftest import PG_URL


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


@pytest.mark.skipif(bool(PG_URL), reason="PostgreSQL alters tables in place; SQLite copies them")
def test_upgrade_from_0001_keeps_members_and_gives_them_defaults(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade_database(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspaces (id, key, title, created_at) "
                "VALUES (1, 'acme', '{\"en\": \"Acme\"}', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, is_active, created_at) "
                "VALUES (1, 'ann', 'Ann', 1, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO memberships (id, user_id, workspace_id, roles) "
                "VALUES (1, 1, 1, '[\"member\"]')"
            )
        )
    upgrade_database(engine)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT u.must_change_password, u.session_epoch, m.attributes, m.roles "
                "FROM users u JOIN memberships m ON m.user_id = u.id"
            )
        ).one()
    engine.dispose()
    assert (row[0], row[1], row[2], row[3]) == (0, 0, "{}", '["member"]')
