"""Moving an app between workspaces and installations as one JSON document.

``export_app`` writes the app, its entities (published definition and draft), its
workflows, automations, reports and dashboards, its permission policy, the defined roles
it names and, optionally, its records (see :mod:`jizuo.designer.transfer_records`).

``import_app`` checks the file against its meta-schema, then reports the conflicts: the
app key in use (and the entities and definitions it would replace), references to
entities or records outside the file that the target lacks, roles to create. A dry run
stops there. Otherwise, with ``on_conflict``:

* ``rename`` — the app comes in under a new key (given, or the next free ``<key>_<n>``),
  its internal references following it;
* ``replace`` — the file's definitions replace the target app's, each published as a new
  version through the kernel's compatibility check: an import that would break existing
  records is refused with the kernel's report.

Everything happens in the caller's one transaction: a refused import changes nothing.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.designer.drafts import require_designer
from jizuo.designer.transfer_records import export_records, external_records, import_records
from jizuo.platform import catalog, publishing
from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.admin_log import log_admin_event
from jizuo.platform.api.serialize import iso_time
from jizuo.platform.definitions import (
    publish_definition,
    published_body,
    save_draft_definition,
)
from jizuo.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, error
from jizuo.platform.models import App, Definition, Entity, Role, utcnow
from jizuo.platform.permissions import define_role, save_app_permissions, workspace_roles
from jizuo.platform.records import RecordStore

FORMAT, FORMAT_VERSION = "jizuo-app", 1
ON_CONFLICT = ("rename", "replace")
#: Conflicts no choice resolves: the import is refused while they remain.
BLOCKING = {"missing_entity", "external_record", "role_missing"}


@cache
def _file_validator() -> Draft202012Validator:
    text = resources.files("jizuo.designer").joinpath("schemas/app-export.json").read_text()
    return Draft202012Validator(json.loads(text))


def check_document(document: Any) -> dict[str, Any]:
    """Refuse a file that is not an app export, with every problem's path."""
    if not isinstance(document, dict):
        raise ValidationFailed(
            "The file is not an app export.", errors=[error("/document", "a JSON object")]
        )
    problems = [
        error("/document" + "".join(f"/{p}" for p in e.absolute_path), e.message, "schema")
        for e in sorted(_file_validator().iter_errors(document), key=lambda e: list(e.path))[:50]
    ]
    if problems:
        raise ValidationFailed("The file is not a valid app export.", errors=problems)
    return document


# -- export ------------------------------------------------------------------------------


def _named_roles(value: Any) -> set[str]:
    """Role keys a definition or policy names (``roles`` lists, ``role`` values, grant keys)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "roles" and isinstance(inner, list):
                found.update(r for r in inner if isinstance(r, str))
            elif key == "role" and isinstance(inner, str):
                found.add(inner)
            found |= _named_roles(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _named_roles(inner)
    return found


def export_app(
    session: Session, actor: Actor, app_key: str, *, records: bool = False
) -> dict[str, Any]:
    """The app as one JSON document (with its records if ``records``: admins only)."""
    require_designer(actor)
    if records and not actor.has_role(ADMIN):
        raise PermissionDenied("Only admins export an app with its records.")
    app = catalog.get_app(session, actor, app_key)
    entities, stored, omitted = [], {}, set()
    for entity in catalog.list_entities(session, actor, app_key):
        published = None
        if entity.published_version:
            definition = catalog.published_of(session, entity).definition
            published = definition.raw
            if records:
                stored[entity.key] = export_records(session, entity, definition, omitted)
        draft = entity.draft if entity.draft != published else None
        entities.append({"key": entity.key, "published": published, "draft": draft})
    definitions = []
    for found in session.scalars(
        select(Definition).where(Definition.app_id == app.id).order_by(Definition.id)
    ):
        definitions.append(
            {
                "kind": found.kind,
                "key": found.key,
                "enabled": found.enabled,
                "published": published_body(session, found),
                "draft": found.draft,
            }
        )
    named = _named_roles([app.permissions, [d["published"] for d in definitions]])
    named |= set((app.permissions or {}).get("entities", {}).get("*", {}))
    for grants in (app.permissions or {}).get("entities", {}).values():
        named |= set(grants)
    roles = session.scalars(
        select(Role).where(Role.workspace_id == actor.workspace_id, Role.key.in_(named))
    )
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": iso_time(utcnow()),
        "app": {"key": app.key, "title": app.title, "icon": app.icon, "color": app.color},
        "entities": entities,
        "definitions": definitions,
        "permissions": app.permissions,
        "roles": [{"key": r.key, "title": r.title, "description": r.description} for r in roles],
    }
    if records:
        document["records"] = stored
        document["omitted"] = sorted(omitted)
    return document


# -- import ------------------------------------------------------------------------------


def _rekey(value: Any, old: str, new: str) -> Any:
    """A copy with references to ``old.<entity>`` (``x-ref``, an automation's ``entity``)
    pointing at ``new.<entity>``."""
    if isinstance(value, dict):
        return {
            k: (
                f"{new}.{v[len(old) + 1 :]}"
                if k in ("x-ref", "entity") and isinstance(v, str) and v.startswith(f"{old}.")
                else _rekey(v, old, new)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rekey(v, old, new) for v in value]
    return value


def _free_key(session: Session, actor: Actor, base: str) -> str:
    taken = set(session.scalars(select(App.key).where(App.workspace_id == actor.workspace_id)))
    n = 2
    while f"{base[:58]}_{n}" in taken:
        n += 1
    return f"{base[:58]}_{n}"


def _refs(definition: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(definition, dict):
        for k, v in definition.items():
            if k == "x-ref" and isinstance(v, str):
                found.add(v)
            else:
                found |= _refs(v)
    elif isinstance(definition, list):
        for v in definition:
            found |= _refs(v)
    return found


def _conflicts(
    session: Session, actor: Actor, document: dict[str, Any], target: App | None
) -> list[dict[str, Any]]:
    source = document["app"]["key"]
    out: list[dict[str, Any]] = []
    if target is not None:
        out.append({"code": "app_exists", "path": "/app/key", "key": target.key})
        have = set(session.scalars(select(Entity.key).where(Entity.app_id == target.id)))
        for i, e in enumerate(document["entities"]):
            if e["key"] in have:
                out.append({"code": "entity_exists", "path": f"/entities/{i}", "key": e["key"]})
        pairs = select(Definition.kind, Definition.key).where(Definition.app_id == target.id)
        kinds = {tuple(row) for row in session.execute(pairs)}
        for i, d in enumerate(document.get("definitions", [])):
            if (d["kind"], d["key"]) in kinds:
                out.append({"code": "definition_exists", "path": f"/definitions/{i}",
                            "key": f"{d['kind']}:{d['key']}"})  # fmt: skip
    own = {e["key"] for e in document["entities"]}
    for i, e in enumerate(document["entities"]):
        for ref in sorted(_refs([e.get("published"), e.get("draft")])):
            app_key, _, entity_key = ref.partition(".")
            if app_key == source and entity_key in own:
                continue
            try:
                catalog.entity_by_ref(session, actor, ref)
            except NotFound:
                out.append({"code": "missing_entity", "path": f"/entities/{i}", "key": ref})
    for entity, i, path, ref in external_records(document, source):
        out.append({"code": "external_record", "path": f"/records/{entity}/{i}/data{path}",
                    "key": ref})  # fmt: skip
    roles = set(workspace_roles(session, actor.workspace_id))
    for i, role in enumerate(document.get("roles", [])):
        if role["key"] not in roles:
            code = "role_created" if actor.has_role(ADMIN) else "role_missing"
            out.append({"code": code, "path": f"/roles/{i}", "key": role["key"]})
    return out


def _install_definitions(
    session: Session, actor: Actor, app_key: str, document: dict[str, Any]
) -> None:
    """Entities (all created before any is published: they may refer to each other), then
    their publication through the kernel's compatibility check, then the other definitions."""
    existing = {e.key for e in catalog.list_entities(session, actor, app_key)}
    for e in document["entities"]:
        first = e.get("published") or e.get("draft")
        if first is None:
            continue
        if e["key"] in existing:
            catalog.save_draft(session, actor, app_key, e["key"], first)
        else:
            catalog.create_entity(session, actor, app_key, first)
    for e in document["entities"]:
        if e.get("published"):
            publishing.publish_entity(session, actor, app_key, e["key"])
        if e.get("draft"):
            catalog.save_draft(session, actor, app_key, e["key"], e["draft"])
    for d in document.get("definitions", []):
        if d.get("published"):
            save_draft_definition(session, actor, app_key, d["kind"], d["key"], d["published"])
            publish_definition(session, actor, app_key, d["kind"], d["key"])
        if d.get("draft"):
            save_draft_definition(session, actor, app_key, d["kind"], d["key"], d["draft"])
        found = session.scalar(
            select(Definition).join(App, App.id == Definition.app_id).where(
                App.workspace_id == actor.workspace_id, App.key == app_key,
                Definition.kind == d["kind"], Definition.key == d["key"])
        )  # fmt: skip
        if found is not None:
            found.enabled = d.get("enabled", True)


def import_app(
    session: Session,
    actor: Actor,
    document: Any,
    *,
    on_conflict: Any = None,
    app_key: Any = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Report the conflicts of importing ``document``; unless ``dry_run``, import it."""
    actor.require_design()
    document = check_document(document)
    if on_conflict is not None and on_conflict not in ON_CONFLICT:
        raise ValidationFailed(
            "Choose what to do with conflicts.",
            errors=[error("/on_conflict", "rename or replace")],
        )
    if app_key is not None:
        catalog.check_key(app_key, "app")
    source = document["app"]["key"]
    wanted = app_key or source
    existing = session.scalar(
        select(App).where(App.workspace_id == actor.workspace_id, App.key == wanted)
    )
    conflicts = _conflicts(session, actor, document, existing)
    target_key = wanted
    if existing is not None and on_conflict == "rename":
        target_key = _free_key(session, actor, wanted)
    report: dict[str, Any] = {
        "app": target_key,
        "conflicts": conflicts,
        "on_conflict": on_conflict,
        "dry_run": dry_run,
        "records": sum(len(rows) for rows in document.get("records", {}).values()),
    }
    blocking = [c for c in conflicts if c["code"] in BLOCKING]
    if dry_run:
        return report
    if blocking:
        raise ValidationFailed(
            "The file refers to what this workspace does not have.",
            errors=[error(c["path"], f"{c['code']}: {c['key']}", c["code"]) for c in blocking],
            report=report,
        )
    if existing is not None and on_conflict is None:
        raise Conflict(
            f"App '{wanted}' exists already: import with on_conflict 'rename' or 'replace'.",
            errors=[error(c["path"], f"{c['code']}: {c['key']}", c["code"]) for c in conflicts],
            report=report,
        )
    original = document
    if target_key != source:
        # Only the metadata follows the new key; records keep the file's own references.
        document = {
            **document,
            **_rekey({k: document.get(k) for k in ("entities", "definitions", "permissions")},
                     source, target_key),
        }  # fmt: skip
    if existing is None or on_conflict == "rename":
        app = catalog.create_app_definition(session, actor, target_key, document["app"]["title"])
    else:
        app = existing
        app.title = document["app"]["title"]
    app.icon, app.color = document["app"].get("icon"), document["app"].get("color")
    roles = set(workspace_roles(session, actor.workspace_id))
    for role in document.get("roles", []):
        if role["key"] not in roles:
            define_role(session, actor, role["key"], role["title"], role.get("description"))
    _install_definitions(session, actor, target_key, document)
    if document.get("permissions") and actor.has_role(ADMIN):
        save_app_permissions(session, actor, app, document["permissions"])
    report["imported_records"] = import_records(
        session, RecordStore(session, actor), target_key, original
    )
    detail = {"from": source, "on_conflict": on_conflict, "conflicts": len(conflicts)}
    log_admin_event(session, actor, "app.import", f"app:{target_key}", detail)
    session.flush()
    return report
