"""How record values are shown: which fields, in which order, with references resolved.

Only fields the viewer may see are ever handed to a template: views pass record data
through ``EntityRecords.visible`` first, and the field lists here skip hidden fields.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from jizuo.platform.errors import NotFound, PermissionDenied
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.records import EntityRecords, RecordStore

MAX_DEFAULT_COLUMNS = 6


@dataclass(frozen=True)
class Link:
    """A reference shown as a link to the referenced record."""

    href: str
    label: str


def list_columns(records: EntityRecords) -> list[Field]:
    """The list view's columns: the definition's ``list.columns``, else the title field and
    the first scalar fields; hidden fields never."""
    definition, hidden = records.definition, records.access.hidden
    named = definition.raw.get("list", {}).get("columns")
    if named:
        keys = named
    else:
        title = definition.raw.get("title_field")
        scalar = [
            f.key
            for f in form_fields(definition, hidden)
            if f.sql_type not in ("array", "object") and f.key != title
        ]
        keys = ([title] if title else []) + scalar
    fields = [definition.fields[k] for k in keys if k in definition.fields and k not in hidden]
    return fields if named else fields[:MAX_DEFAULT_COLUMNS]


def form_fields(definition: EntityDefinition, hidden: frozenset[str]) -> list[Field]:
    """Every visible top-level field, in layout order (fields the layout leaves out last)."""
    ordered: list[str] = []
    for tab in definition.raw.get("layout", {}).get("tabs", []):
        for section in tab.get("sections", []):
            for column in section.get("columns", []):
                ordered += [k for k in column if k not in ordered]
    ordered += [k for k in definition.fields if k not in ordered]
    return [definition.fields[k] for k in ordered if k in definition.fields and k not in hidden]


def title_of(definition: EntityDefinition, record_id: int, data: dict[str, Any]) -> str:
    """What a record is called: its title field, else '#id'."""
    title_field = definition.raw.get("title_field")
    value = data.get(title_field) if title_field else None
    return str(value) if value not in (None, "") else f"#{record_id}"


def resolve_links(
    store: RecordStore, definition: EntityDefinition, rows: list[dict[str, Any]]
) -> dict[tuple[str, int], Link]:
    """Links for every reference value on a page: one query per referenced entity.

    A target the viewer may not read is left out (the page then shows its id only)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for f in definition.fields.values():
        if f.kind == "reference":
            for data in rows:
                if isinstance(data.get(f.key), int):
                    wanted[f.ref].add(data[f.key])
    links: dict[tuple[str, int], Link] = {}
    for ref, ids in wanted.items():
        app_key, _, entity_key = ref.partition(".")
        try:
            target = store.entity(app_key, entity_key)
        except (NotFound, PermissionDenied):
            continue
        for record in target.get_many(ids).values():
            label = title_of(target.definition, record.id, target.visible(record.data))
            links[(ref, record.id)] = Link(f"/apps/{app_key}/{entity_key}/{record.id}", label)
    return links


def display(field: Field, value: Any, links: dict[tuple[str, int], Link]) -> Any:
    """A value ready for a template: a Link, a list of texts, or text."""
    if value is None:
        return ""
    if field.kind == "reference" and isinstance(value, int):
        return links.get((field.ref, value), f"#{value}")
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        if field.kind == "child_table":
            return f"{len(value)} ×"
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    unit = field.schema.get("x-unit")
    return f"{value} {unit}" if unit else str(value)
