"""The form designer's pages: the designer (palette, canvas, property panel), the parts of
it the page reloads after each saved change, the live preview of the draft, and publishing
with its difference, compatibility report, migration job and version history.

Edits go through the designer's API (``static/designer/form.js`` sends operations with the
draft's version); these views only render the draft.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from werkzeug.wrappers import Response

from jizuo.designer import entity_drafts, publish_preview
from jizuo.designer.form_design import RENAMES
from jizuo.designer.form_fields import KEYWORDS, NEEDS, RULES, TEMPLATES, option_list
from jizuo.designer.form_layout import layout_of
from jizuo.designer.pages import attempt, designer
from jizuo.platform import catalog
from jizuo.platform.api.problems import json_body
from jizuo.platform.db import get_session
from jizuo.platform.errors import JizuoError
from jizuo.platform.metadata import field_kind
from jizuo.platform.permissions import ACTIONS, ALL, EntityAccess
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.platform.web import localized

ENTITY = "/apps/<app_key>/entities/<entity_key>"
#: Field types of the palette, in the order designers look for them.
PALETTE = tuple(TEMPLATES)
#: Frames the preview may be shown in: the designer's own pages only.
PREVIEW_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'none'; frame-ancestors 'self'"
)


def framed_preview(page: str) -> Response:
    """A preview page that the designer's own pages may show in a frame, and nothing else."""
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def palette_labels() -> dict[str, str]:
    """The palette's field types as designers read them."""
    return {
        "text": _("Text"),
        "long_text": _("Long text"),
        "integer": _("Whole number"),
        "decimal": _("Decimal number"),
        "boolean": _("Yes / no"),
        "date": _("Date"),
        "datetime": _("Date and time"),
        "single_select": _("Select"),
        "multi_select": _("Multiple select"),
        "reference": _("Reference"),
        "child_table": _("Child table"),
        "attachment": _("Attachment"),
        "user": _("Person"),
        "email": _("Email"),
        "url": _("Web address"),
        "phone": _("Phone"),
        "computed": _("Formula"),
        "auto_number": _("Auto number"),
        "measurement": _("Measurement"),
    }


def _draft(app_key: str, entity_key: str) -> Any:
    return entity_drafts.entity_draft(get_session(), g.actor, app_key, entity_key)


def _text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return value.get(lang, "")
    return value or "" if lang == "en" else ""


def field_card(draft: dict[str, Any], key: str) -> dict[str, Any]:
    """A field as the canvas shows it."""
    schema = draft["schema"]["properties"][key]
    kind = field_kind(schema)
    rules = draft.get("rules", {})
    columns = []
    if kind == "child_table":
        columns = [
            {"key": k, "title": localized(s.get("title") or k), "kind": field_kind(s)}
            for k, s in schema["items"].get("properties", {}).items()
        ]
    return {
        "key": key,
        "title": localized(schema.get("title") or key),
        "kind": kind,
        "required": key in draft["schema"].get("required", []),
        "rules": [r for r in RULES if key in rules.get(r, {})],
        "columns": columns,
    }


def canvas(draft: dict[str, Any]) -> dict[str, Any]:
    """Tabs → sections → columns of field cards, and the fields left off the form."""
    layout = layout_of(copy.deepcopy(draft))
    placed: set[str] = set()
    tabs = []
    for tab in layout["tabs"]:
        sections = []
        for section in tab["sections"]:
            columns = []
            for column in section["columns"]:
                keys = [k for k in column if k in draft["schema"]["properties"]]
                placed.update(keys)
                columns.append([field_card(draft, k) for k in keys])
            sections.append({"title": section.get("title"), "columns": columns})
        tabs.append({"title": tab.get("title"), "sections": sections})
    loose = [field_card(draft, k) for k in draft["schema"]["properties"] if k not in placed]
    return {"tabs": tabs, "loose": loose}


def _reference_targets() -> list[str]:
    session = get_session()
    return [
        f"{app.key}.{entity.key}"
        for app in catalog.list_apps(session, g.actor)
        for entity in catalog.list_entities(session, g.actor, app.key)
    ]


def field_panel(draft: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    """The property panel of one field (``key`` or ``table.column``), or None."""
    table, _sep, key = dotted.rpartition(".")
    owner = draft["schema"]
    if table:
        parent = owner["properties"].get(table)
        if not parent or field_kind(parent) != "child_table":
            return None
        owner = parent["items"]
    schema = owner.get("properties", {}).get(key)
    if schema is None:
        return None
    kind = field_kind(schema)
    keywords = [
        prop
        for prop, (_keyword, kinds, _check) in KEYWORDS.items()
        if kinds is None or kind in kinds
        if prop not in ("widget",)
    ]
    values = {prop: schema.get(KEYWORDS[prop][0]) for prop in keywords}
    options = []
    if kind in ("single_select", "multi_select"):
        labels, colors = schema.get("x-enum-labels", {}), schema.get("x-enum-colors", {})
        options = [
            {
                "value": o,
                "en": _text(labels.get(str(o)), "en"),
                "zh": _text(labels.get(str(o)), "zh"),
                "color": colors.get(str(o), ""),
            }
            for o in option_list(schema)
        ]
    rules = draft.get("rules", {})
    return {
        "dotted": dotted,
        "table": table or None,
        "key": key,
        "kind": kind,
        "kind_label": palette_labels().get(kind, kind),
        "texts": {
            prop: {lang: _text(schema.get(keyword), lang) for lang in ("en", "zh")}
            for prop, keyword in (
                ("title", "title"),
                ("description", "description"),
                ("placeholder", "x-placeholder"),
            )
        },
        "required": key in owner.get("required", []),
        "default": json.dumps(schema["default"]) if "default" in schema else "",
        "keywords": keywords,
        "values": values,
        "spec": schema.get("x-spec") or {},
        "options": options,
        "rules": {r: rules.get(r, {}).get(key, "") for r in RULES} if not table else None,
        "columns": field_card(draft, key)["columns"] if kind == "child_table" else [],
        "targets": _reference_targets() if kind == "reference" else [],
        "needs": NEEDS.get(kind),
    }


def section_panel(draft: dict[str, Any], tab: int, section: int) -> dict[str, Any] | None:
    """The panel of one section: its titles, columns and where it may move."""
    tabs = layout_of(copy.deepcopy(draft))["tabs"]
    if not (0 <= tab < len(tabs) and 0 <= section < len(tabs[tab]["sections"])):
        return None
    found = tabs[tab]["sections"][section]
    return {
        "tab": tab,
        "section": section,
        "title": {lang: _text(found.get("title"), lang) for lang in ("en", "zh")},
        "tab_title": {lang: _text(tabs[tab].get("title"), lang) for lang in ("en", "zh")},
        "columns": len(found["columns"]),
        "tabs": [localized(t.get("title")) or _("Tab %(n)s", n=i + 1) for i, t in enumerate(tabs)],
        "sections": len(tabs[tab]["sections"]),
    }


def _int_arg(name: str) -> int:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        abort(404)


def _page_messages() -> dict[str, str]:
    return {
        "saving": _("Saving…"),
        "saved": _("Saved"),
        "stale": _("%(who)s changed this draft at %(when)s — reload to see their change."),
        "someone": _("someone else"),
        "reload": _("Reload"),
        "failed": _("Not saved:"),
        "expression_ok": _("The expression is valid."),
        "new_field": _("New field"),
        "moved": _("Moved."),
        "no_section": _("Select a section on the canvas first."),
    }


@designer.get(ENTITY)
@access(MEMBER_RULE)
def form_designer(app_key: str, entity_key: str) -> str:
    state = _draft(app_key, entity_key)
    session = get_session()
    entity = catalog.get_entity(session, g.actor, app_key, entity_key)
    return render_template(
        "designer/form_designer.html",
        app=catalog.get_app(session, g.actor, app_key),
        entity=entity,
        state=state,
        canvas=canvas(state.draft),
        palette=[(kind, label) for kind, label in palette_labels().items()],
        needs=NEEDS,
        targets=_reference_targets(),
        messages=_page_messages(),
        draft_title=state.draft.get("title"),
    )


@designer.get(f"{ENTITY}/canvas")
@access(MEMBER_RULE)
def canvas_part(app_key: str, entity_key: str) -> str:
    state = _draft(app_key, entity_key)
    return render_template("designer/_canvas.html", canvas=canvas(state.draft), state=state)


@designer.get(f"{ENTITY}/panel")
@access(MEMBER_RULE)
def panel_part(app_key: str, entity_key: str) -> str:
    """The property panel of the field, section or (by default) entity asked for."""
    draft = _draft(app_key, entity_key).draft
    if "field" in request.args:
        panel = field_panel(draft, request.args["field"])
        if panel is None:
            abort(404)
        return render_template("designer/_field_panel.html", f=panel, palette=palette_labels())
    if "section" in request.args:
        panel = section_panel(draft, _int_arg("tab"), _int_arg("section"))
        if panel is None:
            abort(404)
        return render_template("designer/_section_panel.html", s=panel)
    return render_template(
        "designer/_entity_panel.html",
        title={lang: _text(draft.get("title"), lang) for lang in ("en", "zh")},
        title_field=draft.get("title_field", ""),
        fields=[
            (k, localized(s.get("title") or k)) for k, s in draft["schema"]["properties"].items()
        ],
    )


# -- the live preview ----------------------------------------------------------------------


class DraftRecords:
    """What the runtime's form and rule evaluation need of an entity, made from the draft:
    its definition and validator, and the designer's access to every field."""

    def __init__(self, app_key: str, entity_key: str) -> None:
        draft = _draft(app_key, entity_key).draft
        raw = {k: v for k, v in draft.items() if k != RENAMES}
        self.definition, self.validator = catalog.compile_definition(raw)
        self.access = EntityAccess(
            f"{app_key}.{entity_key}", frozenset(ACTIONS), frozenset({ALL}), unrestricted=True
        )
        self.user = g.actor.expression_user()


@designer.get(f"{ENTITY}/preview")
@access(MEMBER_RULE)
def preview(app_key: str, entity_key: str) -> Response:
    """The runtime's form rendered from the draft, in the language asked for; it saves
    nothing, but its rules follow what is typed (through the preview's evaluate route)."""
    from jizuo.runtime.forms import build_form, rule_state

    lang = request.args.get("lang", "en")
    if lang not in ("en", "zh"):
        abort(404)
    g.locale_override = lang
    refresh()  # the language of this page only
    records = DraftRecords(app_key, entity_key)
    rules = rule_state(records.definition, records.validator, records.access, {}, records.user)
    form = build_form(records.definition, records.access, {}, rules=rules)
    page = render_template(
        "designer/preview.html",
        lang=lang,
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        form=form,
        reference_labels={},
        attachment_names={},
    )
    return framed_preview(page)


@designer.post(f"{ENTITY}/preview/evaluate")
@access(MEMBER_RULE)
def preview_evaluate(app_key: str, entity_key: str) -> Response:
    """The runtime's rule evaluation, on the draft's definition."""
    from flask import jsonify

    from jizuo.platform.api.rules_views import evaluate_rules

    records = DraftRecords(app_key, entity_key)
    data = json_body().get("data", {})
    if not isinstance(data, dict):
        abort(400)
    draft = records.validator.normalise(records.validator.writable_part(data))
    return jsonify(evaluate_rules(records, draft))  # type: ignore[arg-type]


# -- publishing ------------------------------------------------------------------------------


def _typed(schema: dict[str, Any], text: str) -> Any:
    """A default typed into the publish page, as the field's JSON type."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean":
        return text.lower() in ("true", "1", "yes", "y")
    if kind == "array":
        return json.loads(text) if text.startswith("[") else [text]
    return text


def _posted_migration(draft: dict[str, Any]) -> dict[str, Any]:
    """The migration the publish form supplies: defaults per field, plus any JSON given."""
    migration: dict[str, Any] = {}
    extra = request.form.get("migration", "").strip()
    if extra:
        try:
            migration = json.loads(extra)
        except json.JSONDecodeError as exc:
            flash(_("The migration is not JSON: %(error)s", error=str(exc)))
    if not isinstance(migration, dict):
        migration = {}
    properties = draft["schema"]["properties"]
    defaults = dict(migration.get("defaults") or {})
    for name, text in request.form.items():
        key = name.removeprefix("default.")
        if name.startswith("default.") and text.strip() and key in properties:
            defaults[key] = _typed(properties[key], text.strip())
    if defaults:
        migration["defaults"] = defaults
    return migration


def _publish_page(app_key: str, entity_key: str, migration: Any, status: int = 200) -> Any:
    session = get_session()
    try:
        report = publish_preview.preview_publish(session, g.actor, app_key, entity_key, migration)
    except JizuoError as exc:
        session.rollback()
        from jizuo.designer.pages import refusal

        flash(refusal(exc))
        report = None
    session.rollback()
    draft = _draft(app_key, entity_key).draft
    fields = []
    if report:
        keys = [a["field"] for a in report["diff"]["added"]]
        keys += [c["field"] for c in report["diff"]["changed"]]
        fields = [
            (k, localized(draft["schema"]["properties"][k].get("title") or k))
            for k in dict.fromkeys(keys)
            if k in draft["schema"]["properties"]
        ]
    given = (migration or {}).get("defaults", {})
    extra = {k: v for k, v in (migration or {}).items() if k != "defaults"}
    return render_template(
        "designer/publish.html",
        app=catalog.get_app(session, g.actor, app_key),
        entity=catalog.get_entity(session, g.actor, app_key, entity_key),
        preview=report,
        default_fields=fields,
        given={k: v if isinstance(v, str) else json.dumps(v) for k, v in given.items()},
        extra=json.dumps(extra, ensure_ascii=False) if extra else "",
        history=publish_preview.version_history(session, g.actor, app_key, entity_key),
        job=request.args.get("job"),
    ), status


@designer.get(f"{ENTITY}/publish")
@access(MEMBER_RULE)
def publish_page(app_key: str, entity_key: str) -> Any:
    return _publish_page(app_key, entity_key, None)


@designer.post(f"{ENTITY}/publish")
@access(MEMBER_RULE)
def publish(app_key: str, entity_key: str) -> Any:
    draft = _draft(app_key, entity_key).draft
    migration = _posted_migration(draft)
    if request.form.get("step") != "publish":
        return _publish_page(app_key, entity_key, migration)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = -1
    result = attempt(publish_preview.publish_draft, app_key, entity_key, migration or None, version)
    if result is None:
        return _publish_page(app_key, entity_key, migration, 422)
    flash(_("Published version %(version)s.", version=result.version))
    args = {"job": result.job_id} if result.job_id else {}
    return redirect(
        url_for("designer.publish_page", app_key=app_key, entity_key=entity_key, **args)
    )


@designer.post(f"{ENTITY}/revert")
@access(MEMBER_RULE)
def revert(app_key: str, entity_key: str) -> Response:
    """Make a published version the draft again."""
    try:
        to_version, version = int(request.form["to_version"]), int(request.form["version"])
    except (KeyError, ValueError):
        abort(400)
    if attempt(entity_drafts.revert_entity, app_key, entity_key, to_version, version):
        flash(_("Version %(version)s is the draft again.", version=to_version))
    return redirect(url_for("designer.form_designer", app_key=app_key, entity_key=entity_key))
