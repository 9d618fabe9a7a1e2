"""Benchmark: server time to render the runtime's pages against a static template of the
same size, measured in one run.

    python bench/render.py [--database-url URL] [--fields N] [--rows N] [--requests N]

Two pages of a generated entity with ``--fields`` fields (default 50) of every widget kind:

1. The new-record form (layout, rules evaluated on the server, reference and user pickers):
   p50/p95 over ``--requests`` GETs through the Flask test client, signed in as a member.
2. The list page showing ``--rows`` records (default 50) with every column the entity shows,
   references resolved.

Each is compared with a route added to the same app, behind the same sign-in and gate,
that renders a static Jinja template holding the same HTML: the same bytes and request
machinery, without metadata, permissions or record queries. Targets: ratio <= 2x for
both, and the form's p50 <= 15 ms.

Default database: a fresh SQLite file in a temporary folder, removed afterwards. A PostgreSQL
URL starts from an empty ``public`` schema (DROP SCHEMA public CASCADE), so never point it at
a database whose data matters. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, render_template_string
from sqlalchemy import text

from jizuo import create_app
from jizuo.platform import catalog, publishing
from jizuo.platform.actor import Actor
from jizuo.platform.auth import add_member, create_user
from jizuo.platform.db import engine_of, make_engine, new_session
from jizuo.platform.records import RecordStore
from jizuo.platform.schema import upgrade_database
from jizuo.platform.security import MEMBER_RULE, access

APP_KEY = "bench"
PASSWORD = "bench password 1"
RATIO_TARGET = 2.0
FORM_P50_TARGET_MS = 15.0
#: Field kinds cycled through to make the generated entity (schema of each).
KINDS: list[tuple[str, dict[str, Any]]] = [
    ("text", {"type": "string", "maxLength": 80}),
    ("integer", {"type": "integer", "minimum": 0}),
    ("decimal", {"type": "number", "x-precision": 2, "x-unit": "mm"}),
    ("select", {"type": "string", "enum": ["open", "hold", "released"]}),
    ("date", {"type": "string", "format": "date"}),
    ("boolean", {"type": "boolean"}),
    ("measurement", {"type": "number", "x-spec": {"lsl": 9.9, "usl": 10.1}}),
    ("note", {"type": "string", "x-widget": "textarea"}),
    ("supplier", {"type": "integer", "x-ref": "bench.supplier"}),
    ("owner", {"type": "integer", "x-user": True}),
]


def columns(keys: list[str]) -> list[list[str]]:
    return [keys[::2], keys[1::2]]


def entity_of(fields: int) -> dict[str, Any]:
    """An entity of ``fields`` fields on two tabs, with a formula and a visibility rule."""
    properties = {}
    for i in range(fields - 1):
        kind, schema = KINDS[i % len(KINDS)]
        properties[f"{kind}_{i}"] = {**schema, "title": {"en": f"{kind} {i}", "zh": f"字段 {i}"}}
    properties["total"] = {"type": "number", "x-formula": "integer_1 * decimal_2"}
    keys = list(properties)
    half = len(keys) // 2
    return {
        "key": "item",
        "title": {"en": "Item", "zh": "物料"},
        "title_field": "text_0",
        "schema": {"type": "object", "properties": properties, "required": ["text_0"]},
        "layout": {
            "tabs": [
                {"title": {"en": "One"}, "sections": [{"columns": columns(keys[:half])}]},
                {"title": {"en": "Two"}, "sections": [{"columns": columns(keys[half:])}]},
            ]
        },
        "rules": {"visible_if": {"note_7": "select_3 == 'hold'"}},
    }


def record_of(definition: dict[str, Any], n: int, supplier: int, owner: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, schema in definition["schema"]["properties"].items():
        if "x-formula" in schema:
            continue
        kind = key.rsplit("_", 1)[0]
        data[key] = {
            "text": f"item {n}",
            "integer": n,
            "decimal": n / 4,
            "select": "open",
            "date": "2026-11-25",
            "boolean": n % 2 == 0,
            "measurement": 10.0,
            "note": "",
            "supplier": supplier,
            "owner": owner,
        }[kind]
    return data


def seed(app: Flask, fields: int, rows: int) -> None:
    with new_session(app, write=True) as session:
        ws = catalog.create_workspace(session, "plant", {"en": "Plant", "zh": "工厂"})
        user = create_user(session, "reader", PASSWORD)
        membership = add_member(session, user, ws, ["admin"])
        actor = Actor(ws.id, user.id, user.username, frozenset(membership.roles))
        catalog.create_app_definition(session, actor, APP_KEY, "Bench")
        supplier = {
            "key": "supplier",
            "title": {"en": "Supplier", "zh": "供应商"},
            "title_field": "name",
            "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        }
        definition = entity_of(fields)
        for entity in (supplier, definition):
            catalog.create_entity(session, actor, APP_KEY, entity)
            publishing.publish_entity(session, actor, APP_KEY, entity["key"])
        store = RecordStore(session, actor)
        supplier_id = store.entity(APP_KEY, "supplier").create({"name": "Acme"}).id
        store.entity(APP_KEY, "item").create_many(
            [record_of(definition, n, supplier_id, user.id) for n in range(rows)]
        )
        session.commit()


def signed_in(app: Flask):  # noqa: ANN201 - a FlaskClient
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login", data={"username": "reader", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 302, answer.status_code
    return client


def timings(get: Callable[[], Any], requests: int) -> list[float]:
    for _ in range(5):  # warm caches and compiled templates
        get()
    out = []
    for _ in range(requests):
        start = time.perf_counter()
        get()
        out.append((time.perf_counter() - start) * 1000)
    return out


#: Static copies of our pages, served by ``add_static_route`` (filled in once rendered).
STATIC_PAGES: dict[str, str] = {}


def add_static_route(app: Flask) -> None:
    """A route of the same app, behind the same sign-in and gate, that renders a template
    holding a fixed copy of a page: what the page costs without metadata, permissions and
    record queries."""

    @app.get("/bench-static/<name>")
    @access(MEMBER_RULE)
    def static_page(name: str) -> str:
        return render_template_string("{% raw %}" + STATIC_PAGES[name] + "{% endraw %}")


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="jizuo-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    try:
        if url.startswith("postgresql"):
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        upgrade_database(make_engine(url))
        app = create_app(
            {"INSTANCE_PATH": folder, "DATABASE_URL": url, "REDIS_URL": None, "SECRET_KEY": "b"}
        )
        add_static_route(app)
        seed(app, args.fields, args.rows)
        client = signed_in(app)
        pages = {
            f"form ({args.fields} fields)": f"/apps/{APP_KEY}/item/new",
            f"list ({args.rows} rows)": f"/apps/{APP_KEY}/item/?limit={args.rows}",
        }
        print(f"database: {engine_of(app).dialect.name}; {args.requests} requests per page\n")
        print(f"{'page':<20} {'bytes':>8} {'ours p50':>9} {'p95':>7} {'static p50':>11} "
              f"{'p95':>7} {'ratio':>6}  target")  # fmt: skip
        for name, path in pages.items():
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            html = answer.get_data(as_text=True)

            def get(path: str = path) -> None:
                assert client.get(path).status_code == 200

            STATIC_PAGES[name] = html

            def get_static(name: str = name) -> None:
                assert client.get(f"/bench-static/{name}").status_code == 200

            ours = timings(get, args.requests)
            static = timings(get_static, args.requests)
            ratio = statistics.median(ours) / statistics.median(static)
            met = ratio <= RATIO_TARGET
            target = f"ratio <= {RATIO_TARGET:g}x"
            if name.startswith("form"):
                met = met and statistics.median(ours) <= FORM_P50_TARGET_MS
                target += f", p50 <= {FORM_P50_TARGET_MS:g} ms"
            print(
                f"{name:<20} {len(html):>8} "
                f"{statistics.median(ours):>7.1f}ms {p(ours, 95):>5.1f}ms "
                f"{statistics.median(static):>9.2f}ms {p(static, 95):>5.2f}ms {ratio:>5.1f}x  "
                f"{target}: {'PASS' if met else 'MISS'}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
