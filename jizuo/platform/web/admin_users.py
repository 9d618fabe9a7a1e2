"""Administration pages for people: the workspace's members, their accounts, and roles.

Thin views over ``jizuo.platform.accounts`` and ``permissions.define_role``. A refused
form is shown again with the input kept and every problem listed; temporary passwords
appear on the one response that created them (``no-store``) and nowhere else.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, g, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from jizuo.platform import accounts
from jizuo.platform.actor import ADMIN, DESIGNER, MEMBER
from jizuo.platform.db import get_session
from jizuo.platform.errors import Conflict, JizuoError, ValidationFailed, error
from jizuo.platform.permissions import define_role, workspace_roles
from jizuo.platform.security import ADMIN_RULE, access
from jizuo.platform.web.blueprints import admin

Page = tuple[str, int, dict[str, str]]
NO_STORE = {"Cache-Control": "no-store"}
#: Refusals a form answers by showing itself again (others get the error page).
FORM_ERRORS = (ValidationFailed, Conflict)


def problems(exc: JizuoError) -> list[dict[str, str]]:
    """The problems of a refused change, as ``{path, message}`` for the page: what was
    refused, then each problem with where it is."""
    return [{"path": "", "message": exc.detail}, *exc.errors]


def parse_json_field(raw: str, path: str, empty: Any) -> Any:
    """A form's JSON text; a ValidationFailed naming the line and column when it is not JSON."""
    if not raw.strip():
        return empty
    try:
        return json.loads(raw)
    except ValueError as exc:
        message = _("not valid JSON: %(problem)s", problem=str(exc))
        raise ValidationFailed("Not JSON.", errors=[error(path, message)]) from None


def as_json(value: Any) -> str:
    """A JSON value as people read it (unlike ``tojson``, Chinese text stays readable)."""
    return json.dumps(value, ensure_ascii=False)


def _builtin_roles() -> list[tuple[str, str]]:
    return [
        (ADMIN, _("Everything: accounts, roles, permissions, app design and every record.")),
        (
            DESIGNER,
            _("Designs apps and forms; works with records like a member unless restricted."),
        ),
        (
            MEMBER,
            _("Works with records: may do everything unless an app's permissions restrict it."),
        ),
    ]


# -- members --------------------------------------------------------------------------


def _users_page(
    *,
    form: MultiDict | None = None,
    errors: list[dict[str, str]] | None = None,
    created: tuple[str, str] | None = None,
    status: int = 200,
) -> Page:
    db = get_session()
    body = render_template(
        "admin/users.html",
        members=accounts.list_members(db, g.actor),
        roles=workspace_roles(db, g.actor.workspace_id),
        form=form or MultiDict({"roles": MEMBER}),
        errors=errors or [],
        created=created,
        as_json=as_json,
    )
    return body, status, NO_STORE


@admin.get("/users")
@access(ADMIN_RULE)
def users() -> Page:
    return _users_page()


@admin.post("/users")
@access(ADMIN_RULE)
def create_account() -> Page:
    form, db = request.form, get_session()
    try:
        user, password = accounts.create_account(
            db,
            g.actor,
            form.get("username", "").strip(),
            form.get("display_name", "").strip(),
            form.get("email", "").strip(),
            form.getlist("roles"),
            parse_json_field(form.get("attributes", ""), "/attributes", {}),
        )
    except FORM_ERRORS as exc:
        db.rollback()
        return _users_page(form=form, errors=problems(exc), status=exc.status)
    db.commit()
    return _users_page(created=(user.username, password), status=201)


def _user_page(
    user_id: int,
    *,
    form: MultiDict | None = None,
    errors: list[dict[str, str]] | None = None,
    password: str | None = None,
    status: int = 200,
) -> Page:
    db = get_session()
    member = accounts.get_member(db, g.actor, user_id)
    if form is None:
        attributes = json.dumps(member.attributes, indent=2, ensure_ascii=False)
        chosen = member.roles
    else:
        attributes, chosen = form.get("attributes", ""), form.getlist("roles")
    body = render_template(
        "admin/user.html",
        member=member,
        roles=workspace_roles(db, g.actor.workspace_id),
        chosen=chosen,
        attributes=attributes,
        errors=errors or [],
        password=password,
    )
    return body, status, NO_STORE


def _refused(user_id: int, exc: JizuoError, form: MultiDict | None = None) -> Page:
    get_session().rollback()
    return _user_page(user_id, form=form, errors=problems(exc), status=exc.status)


@admin.get("/users/<int:user_id>")
@access(ADMIN_RULE)
def user(user_id: int) -> Page:
    return _user_page(user_id)


@admin.post("/users/<int:user_id>")
@access(ADMIN_RULE)
def update_user(user_id: int) -> Page | Response:
    form, db = request.form, get_session()
    try:
        attributes = parse_json_field(form.get("attributes", ""), "/attributes", {})
        accounts.update_membership(db, g.actor, user_id, form.getlist("roles"), attributes)
    except FORM_ERRORS as exc:
        return _refused(user_id, exc, form)
    db.commit()
    flash(_("Saved."))
    return redirect(f"/admin/users/{user_id}")


@admin.post("/users/<int:user_id>/active")
@access(ADMIN_RULE)
def set_user_active(user_id: int) -> Page | Response:
    db = get_session()
    try:
        accounts.set_active(db, g.actor, user_id, request.form.get("active") == "1")
    except FORM_ERRORS as exc:
        return _refused(user_id, exc)
    db.commit()
    flash(_("Saved."))
    return redirect(f"/admin/users/{user_id}")


@admin.post("/users/<int:user_id>/password")
@access(ADMIN_RULE)
def reset_user_password(user_id: int) -> Page:
    db = get_session()
    try:
        _member, password = accounts.reset_password(db, g.actor, user_id)
    except FORM_ERRORS as exc:
        return _refused(user_id, exc)
    db.commit()
    return _user_page(user_id, password=password)


@admin.post("/users/<int:user_id>/remove")
@access(ADMIN_RULE)
def remove_user(user_id: int) -> Page | Response:
    db = get_session()
    try:
        if request.form.get("confirm") != "yes":
            raise ValidationFailed(
                "Nothing was removed.", errors=[error("/confirm", _("tick the box to confirm"))]
            )
        accounts.remove_member(db, g.actor, user_id)
    except FORM_ERRORS as exc:
        return _refused(user_id, exc)
    db.commit()
    flash(_("The user was removed from this workspace."))
    return redirect("/admin/users")


# -- roles ----------------------------------------------------------------------------


def _roles_page(
    *, form: MultiDict | None = None, errors: list[dict[str, str]] | None = None, status: int = 200
) -> Page:
    body = render_template(
        "admin/roles.html",
        builtin=_builtin_roles(),
        defined=accounts.list_roles(get_session(), g.actor),
        form=form or MultiDict(),
        errors=errors or [],
    )
    return body, status, NO_STORE


@admin.get("/roles")
@access(ADMIN_RULE)
def roles() -> Page:
    return _roles_page()


@admin.post("/roles")
@access(ADMIN_RULE)
def create_role() -> Page | Response:
    form, db = request.form, get_session()
    title = {
        lang: form.get(f"title_{lang}", "").strip()
        for lang in ("en", "zh")
        if form.get(f"title_{lang}", "").strip()
    }
    description = form.get("description", "").strip() or None
    try:
        role = define_role(db, g.actor, form.get("key", "").strip(), title, description)
    except FORM_ERRORS as exc:
        db.rollback()
        return _roles_page(form=form, errors=problems(exc), status=exc.status)
    db.commit()
    flash(_("Role '%(key)s' defined. Grant it rights in the permission matrix.", key=role.key))
    return redirect("/admin/roles")
