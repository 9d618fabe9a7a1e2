"""Fixtures: an app on a fresh database per test (SQLite file, or PostgreSQL when
``JIZUO_TEST_DATABASE_URL`` is set), a session, actors and an API client."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import text

from jizuo import create_app
from jizuo.platform.db import make_engine, new_session
from jizuo.platform.indexes import record_index_names
from jizuo.platform.models import Base
from jizuo.platform.schema import is_dynamic_index, upgrade_database

PG_URL = os.environ.get("JIZUO_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("JIZUO_TEST_REDIS_URL")


def pytest_report_header() -> list[str]:
    return [
        f"jizuo database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (one file per test)'}",
        f"jizuo redis: {REDIS_URL or 'none (redis tests skip)'}",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set JIZUO_TEST_DATABASE_URL")
    skip_redis = pytest.mark.skip(reason="needs Redis: set JIZUO_TEST_REDIS_URL")
    for item in items:
        if "postgres" in item.keywords and not PG_URL:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not REDIS_URL:
            item.add_marker(skip_redis)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a SQLite file to copy per test, or the PostgreSQL URL."""
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade_database(engine)
        engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return str(path)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for name in record_index_names(conn):
            if is_dynamic_index(name):
                conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(database_template: str, tmp_path: os.PathLike) -> str:
    """A fresh, migrated, empty database for one test."""
    if PG_URL:
        _reset_postgres(PG_URL)
        return PG_URL
    path = os.path.join(tmp_path, "jizuo.sqlite")
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


class RequestIsolatedClient(FlaskClient):
    """Runs every request in an app context of its own, as a server does.

    Tests hold an app context open; a request would otherwise reuse it, and ``g`` (the
    actor, the CSRF token) would leak from one request into the next.
    """

    def open(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        outer = _cv_app.get(None)
        if outer is None:
            return super().open(*args, **kwargs)
        outer.pop()
        try:
            return super().open(*args, **kwargs)
        finally:
            outer.push()


@pytest.fixture
def app(database_url: str, tmp_path: os.PathLike) -> Iterator:
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": database_url,
            "REDIS_URL": None,
            "SECRET_KEY": "test-secret",
        }
    )
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        yield app
    app.extensions["jizuo"]["engine"].dispose()


@pytest.fixture
def session(app):  # noqa: ANN001, ANN201
    # A deferred (read) session: it takes SQLite's write lock only when it writes, so a
    # test reading between requests never blocks the app under test.
    s = new_session(app)
    yield s
    s.close()


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()
