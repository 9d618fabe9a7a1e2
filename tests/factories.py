"""Test data made through the services, so it obeys the same rules as real data."""

from __future__ import annotations

import copy
import re
from typing import Any

from sqlalchemy.orm import Session

from jizuo.platform import catalog, publishing
from jizuo.platform.actor import Actor
from jizuo.platform.auth import add_member, create_user
from jizuo.platform.models import User, Workspace
from jizuo.platform.tokens import issue_token


def workspace(session: Session, key: str = "acme") -> Workspace:
    return catalog.create_workspace(session, key, {"en": key.title(), "zh": key})


def member(
    session: Session, ws: Workspace, username: str = "alice", roles: tuple[str, ...] = ("admin",)
) -> tuple[User, Actor]:
    user = create_user(session, username, "correct horse battery")
    membership = add_member(session, user, ws, list(roles))
    actor = Actor(ws.id, user.id, user.username, frozenset(membership.roles))
    return user, actor


def token(session: Session, ws: Workspace, user: User, read_only: bool = False) -> str:
    return issue_token(session, user, ws, "test", read_only=read_only)


def published(
    session: Session, actor: Actor, app_key: str, definition: dict[str, Any], migration=None
):  # noqa: ANN001, ANN201
    """Create the app if needed, save the definition as the draft, publish it."""
    try:
        catalog.get_app(session, actor, app_key)
    except Exception:  # noqa: BLE001 - NotFound: first entity of the app
        catalog.create_app_definition(session, actor, app_key, app_key.upper())
    try:
        catalog.save_draft(session, actor, app_key, definition["key"], copy.deepcopy(definition))
    except Exception:  # noqa: BLE001 - NotFound: a new entity
        catalog.create_entity(session, actor, app_key, copy.deepcopy(definition))
    result = publishing.publish_entity(session, actor, app_key, definition["key"], migration)
    session.commit()
    return result


SUPPLIER = {
    "key": "supplier",
    "title": {"en": "Supplier", "zh": "供应商"},
    "title_field": "name",
    "schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 100, "x-unique": True},
            "rating": {"type": "integer", "minimum": 0, "maximum": 100, "x-index": True},
        },
        "required": ["name"],
    },
}

NCR = {
    "key": "ncr",
    "title": {"en": "Nonconformance report", "zh": "不合格品报告"},
    "title_field": "number",
    "schema": {
        "type": "object",
        "properties": {
            "number": {"type": "string", "x-sequence": "NCR-{YYYY}-{seq:05}"},
            "supplier": {"type": "integer", "x-ref": "erp.supplier", "x-index": True},
            "lot_no": {"type": "string", "maxLength": 64, "x-index": True},
            "source": {"type": "string", "enum": ["iqc", "ipqc", "oqc", "customer"]},
            "complaint": {"type": "string"},
            "qty_rejected": {"type": "integer", "minimum": 0},
            "unit_cost": {"type": "number", "minimum": 0, "x-unit": "CNY"},
            "cost": {"type": "number", "x-formula": "qty_rejected * unit_cost"},
            "defects": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "count": {"type": "integer", "minimum": 1},
                    },
                    "required": ["code", "count"],
                },
            },
            "disposition": {"type": "string", "enum": ["use_as_is", "rework", "scrap", "return"]},
        },
        "required": ["lot_no", "source", "qty_rejected"],
    },
    "layout": {
        "tabs": [
            {
                "title": {"en": "Details", "zh": "详情"},
                "sections": [
                    {"columns": [["number", "supplier", "lot_no"], ["source", "complaint"]]},
                    {"columns": [["qty_rejected", "unit_cost", "cost"]]},
                    {"columns": [["defects", "disposition"]]},
                ],
            }
        ]
    },
    "rules": {
        "visible_if": {"complaint": "source == 'customer'"},
        "required_if": {"complaint": "source == 'customer'"},
        "validations": [
            {
                "expr": "sum_of(defects, 'count') <= qty_rejected",
                "message": {"en": "More defects than rejected parts", "zh": "缺陷数多于不合格数"},
            }
        ],
    },
}

#: One field of every type of the metadata language.
EVERY_TYPE = {
    "key": "specimen",
    "title": "Every field type",
    "schema": {
        "type": "object",
        "properties": {
            "text": {"type": "string", "maxLength": 50},
            "long_text": {"type": "string", "x-widget": "textarea"},
            "integer": {"type": "integer"},
            "decimal": {"type": "number", "x-precision": 2},
            "boolean": {"type": "boolean"},
            "date": {"type": "string", "format": "date"},
            "datetime": {"type": "string", "format": "date-time"},
            "single_select": {"type": "string", "enum": ["a", "b"]},
            "multi_select": {
                "type": "array",
                "items": {"type": "string", "enum": ["red", "green", "blue"]},
                "uniqueItems": True,
            },
            "reference": {"type": "integer", "x-ref": "erp.supplier"},
            "child_table": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "part": {"type": "string"},
                        "qty": {"type": "integer"},
                        "price": {"type": "number"},
                        "amount": {"type": "number", "x-formula": "qty * price"},
                    },
                },
            },
            "attachment": {"type": "integer", "x-attachment": True},
            "user": {"type": "integer", "x-user": True},
            "email": {"type": "string", "format": "email"},
            "url": {"type": "string", "format": "uri"},
            "phone": {"type": "string", "format": "phone"},
            "computed": {"type": "number", "x-formula": "integer * decimal"},
            "auto_number": {"type": "string", "x-sequence": "SP-{seq:04}"},
            "measurement": {
                "type": "number",
                "x-unit": "mm",
                "x-spec": {"lsl": 9.9, "target": 10.0, "usl": 10.1},
            },
        },
    },
}


PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:  # noqa: ANN001
    """The CSRF token of the client's session, read from a page's form."""
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    """Sign in through the login form, as a browser does; returns the response."""
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def post_form(client, path: str, data: dict, page: str = "/"):  # noqa: ANN001, ANN201
    """Submit a form as a signed-in browser (with the session's CSRF token)."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})
