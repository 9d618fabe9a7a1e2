"""The audit trail viewer: who changed which record, when, why and how, plus the admin log.

Filters come from the query string, so a filtered view can be bookmarked or sent to an
auditor; a filter that cannot be read is answered with the page and a message (400),
never with an error trace.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import g, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from jizuo.platform import accounts, audit_search
from jizuo.platform.db import get_session
from jizuo.platform.errors import NotFound, ValidationFailed
from jizuo.platform.security import ADMIN_RULE, access
from jizuo.platform.web.admin_users import NO_STORE
from jizuo.platform.web.blueprints import admin

Page = tuple[str, int, dict[str, str]]
PAGE_SIZE = 50
FILTERS = ("user", "entity", "from", "to")


def show(value: Any) -> str:
    """A field value as an auditor reads it: text as is, nothing as a dash, the rest as JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def changes(diff: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """A history diff as (field, old, new) rows (old None: the entry holds no old value)."""
    rows = []
    for field, change in sorted(diff.items()):
        if isinstance(change, list) and len(change) == 2:
            rows.append((field, show(change[0]), show(change[1])))
        else:
            rows.append((field, None, show(change)))
    return rows


def _number(args: MultiDict, name: str, label: str, problems: list[str]) -> int | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        problems.append(_("%(filter)s: %(value)s is not a number.", filter=label, value=raw[:40]))
        return None
    return int(raw)


def _day(args: MultiDict, name: str, label: str, problems: list[str]) -> date | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(
            _("%(filter)s: %(value)s is not a date (YYYY-MM-DD).", filter=label, value=raw[:40])
        )
        return None


def _query(args: MultiDict, **extra: Any) -> dict[str, Any]:
    """The current filters (plus ``extra``) for a link to another page of the results."""
    return {**{k: args[k] for k in FILTERS if args.get(k)}, **extra}


@admin.get("/audit")
@access(ADMIN_RULE)
def audit() -> Page:
    db, args = get_session(), request.args
    problems: list[str] = []
    user_id = _number(args, "user", _("User"), problems)
    before = _number(args, "before", _("Page"), problems)
    date_from = _day(args, "from", _("From"), problems)
    date_to = _day(args, "to", _("To"), problems)
    entity = args.get("entity", "").strip() or None
    result = None
    if not problems:
        try:
            result = audit_search.search_history(
                db,
                g.actor,
                user_id=user_id,
                entity_ref=entity,
                date_from=date_from,
                date_to=date_to,
                limit=PAGE_SIZE,
                before_seq=before,
            )
        except (ValidationFailed, NotFound) as exc:
            db.rollback()
            detail = "; ".join(e["message"] for e in exc.errors) or exc.detail
            problems.append(_("Entity: %(detail)s", detail=detail))
    body = render_template(
        "admin/audit.html",
        args=args,
        members=accounts.list_members(db, g.actor),
        entities=audit_search.entity_choices(db, g.actor),
        entries=result.entries if result else [],
        older=_query(args, before=result.older) if result and result.older else None,
        events=audit_search.recent_admin_events(db, g.actor, limit=PAGE_SIZE),
        problems=problems,
        changes=changes,
        show=show,
    )
    return body, 400 if problems else 200, NO_STORE
