"""Database engine, sessions and the declarative base shared by every platform table.

One engine per app (kept in ``app.extensions["jizuo"]``), one session per request
(``get_session``), closed at teardown. Services take a ``Session`` argument and never
reach for a global.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import JSON, BigInteger, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

# The same constraint names on SQLite and PostgreSQL, so migrations can alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Execution option marking a connection whose transactions will write.
WRITE_OPTION = "jizuo_write"

#: JSON on SQLite, JSONB on PostgreSQL (indexable, ``@>`` containment).
JSONType = JSON().with_variant(JSONB(), "postgresql")

#: 64-bit ids on PostgreSQL; SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, foreign keys and IMMEDIATE begins."""
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # SQLITE_BUSY when another writer got in between; write sessions take the
        # write lock at BEGIN so concurrent writers wait their turn instead, while
        # read sessions stay deferred and never block anyone.
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory and close the request session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    state = app.extensions.setdefault("jizuo", {})
    state["engine"] = engine
    state["sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    state["write_sessionmaker"] = sessionmaker(
        bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
    )

    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("jizuo_session", None)
        if session is not None:
            session.close()

    # At the end of each request — an app context may outlive it (CLI, tests) — and of
    # each app context.
    app.teardown_request(_close_session)
    app.teardown_appcontext(_close_session)


def engine_of(app: Flask | None = None) -> Engine:
    """The engine of ``app`` (default: the current app)."""
    return (app or current_app).extensions["jizuo"]["engine"]


def new_session(app: Flask | None = None, *, write: bool = False) -> Session:
    """A fresh session of ``app``; the caller closes it (jobs, CLI, tests).

    ``write=True`` for work that writes: on SQLite its transactions take the write lock
    when they begin, so concurrent writers queue instead of failing.
    """
    state = (app or current_app).extensions["jizuo"]
    return state["write_sessionmaker" if write else "sessionmaker"]()


def get_session() -> Session:
    """The session of the current request or app context, created on first use.

    Requests that may change data (anything but GET/HEAD/OPTIONS) get a write session.
    """
    if "jizuo_session" not in g:
        write = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        g.jizuo_session = new_session(write=write)
    return g.jizuo_session
