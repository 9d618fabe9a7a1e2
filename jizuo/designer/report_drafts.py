"""The report designer's service: a report created on a source entity, the field paths its
forms offer (the source's fields, its child-table columns and the fields of the records its
references lead to, as deep as asked), and the live preview — the draft run by the kernel's
report engine on real data with the viewer's rights, with its chart's Vega-Lite spec.
Edits save the whole draft through :mod:`jizuo.designer.definition_drafts`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from jizuo.designer.automation_drafts import published_entities
from jizuo.designer.definition_drafts import create_definition, definition_draft
from jizuo.designer.drafts import DraftState, require_designer
from jizuo.platform.actor import Actor
from jizuo.platform.charts import chart_spec
from jizuo.platform.errors import JizuoError, ValidationFailed, error
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.report_engine import run_draft_report
from jizuo.platform.report_fields import value_type
from jizuo.platform.report_result import ReportResult

KIND = "report"
#: How many references deep the field choices follow by default (``supplier.country.code``).
DEPTH = 2
SYSTEM_FIELDS = (
    ("id", "integer"),
    ("state", "text"),
    ("created_at", "datetime"),
    ("updated_at", "datetime"),
)
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max", "median", "stddev",
              "percentile", "ratio")  # fmt: skip
BUCKETS = ("day", "week", "month", "quarter", "year")
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "null")
CHART_TYPES = ("bar", "line", "area", "scatter", "histogram", "pareto", "boxplot", "pie",
               "donut", "control")  # fmt: skip


def seed_report(key: str, entity: str) -> dict[str, Any]:
    """A new report: the records of ``entity`` counted."""
    return {
        "title": {"en": key.replace("_", " ").capitalize()},
        "source": {"entity": entity},
        "measures": [{"key": "records", "agg": "count"}],
    }


def create_report(
    session: Session, actor: Actor, app_key: str, key: Any, entity: Any
) -> DraftState:
    """A new report of the app on the records of ``entity`` (``app.entity``, any app)."""
    actor.require_design()
    if not isinstance(entity, str) or entity not in published_entities(session, actor):
        raise ValidationFailed(
            "Choose a published entity.", errors=[error("/entity", "a published entity")]
        )
    return create_definition(session, actor, app_key, KIND, key, seed_report(str(key), entity))


def report_draft(session: Session, actor: Actor, app_key: str, key: str) -> DraftState:
    """A report's draft for the designer."""
    return definition_draft(session, actor, app_key, KIND, key)


def _source_ref(app_key: str, entity: str) -> str:
    return entity if "." in entity else f"{app_key}.{entity}"


def field_paths(
    definitions: dict[str, EntityDefinition], source: str, depth: int = DEPTH
) -> list[dict[str, str]]:
    """The paths a report on ``source`` can read: system columns, fields, child-table
    columns, and through each reference the fields of its target, ``depth`` joins deep."""
    out: list[dict[str, str]] = [{"path": k, "type": t} for k, t in SYSTEM_FIELDS]

    def walk(definition: EntityDefinition, prefix: str, left: int, seen: tuple) -> None:
        for key, f in definition.fields.items():
            path = f"{prefix}{key}"
            if f.kind == "child_table":
                if not prefix:
                    for child_key, child in f.children.items():
                        out.append({"path": f"{path}.{child_key}", "type": value_type(child)})
                continue
            if f.kind == "object":
                continue
            out.append({"path": path, "type": value_type(f)})
            target = definitions.get(f.ref) if f.ref else None
            if target is not None and left > 0 and f.ref not in seen:
                walk(target, f"{path}.", left - 1, (*seen, f.ref))

    if source in definitions:
        walk(definitions[source], "", depth, (source,))
    return out


def child_tables(definition: EntityDefinition | None) -> list[str]:
    """The child tables a report on the entity may take as its grain."""
    if definition is None:
        return []
    return [k for k, f in definition.fields.items() if f.kind == "child_table"]


def group_key(group: dict[str, Any]) -> str:
    """The column key of a group-by (as the report engine names it)."""
    bucket = group.get("bucket")
    path = str(group.get("field", ""))
    return group.get("key") or path.replace(".", "_") + (f"_{bucket}" if bucket else "")


def form_choices(
    session: Session, actor: Actor, app_key: str, body: dict[str, Any], depth: int = DEPTH
) -> dict[str, Any]:
    """What the report's forms offer: entities, field paths of the source (with joins),
    child tables, aggregates, buckets, operators, chart types and the result's columns."""
    require_designer(actor)
    definitions = published_entities(session, actor)
    source = _source_ref(app_key, (body.get("source") or {}).get("entity", ""))
    columns = [group_key(g) for g in body.get("group_by", [])]
    measures = [m.get("key") for m in body.get("measures", []) if m.get("key")]
    columns += measures
    return {
        "entities": list(definitions),
        "source": source,
        "fields": field_paths(definitions, source, depth),
        "tables": child_tables(definitions.get(source)),
        "aggregates": AGGREGATES,
        "buckets": BUCKETS,
        "operators": OPERATORS,
        "chart_types": CHART_TYPES,
        "measure_keys": measures,
        "columns": [c for c in columns if c],
        "new_items": {
            "filter": {"field": "id", "op": "gte", "value": 1},
            "group": {"field": "id"},
            "measure": {"key": f"measure_{len(body.get('measures', [])) + 1}", "agg": "count"},
            "sort": {"key": columns[0] if columns else "records", "direction": "desc"},
            "pivot": {"field": "state"},
            "top": {"n": 10, "by": measures[0] if measures else "records", "other": True},
            "pareto": {"measure": measures[0] if measures else "records"},
            "chart": {"type": "bar", "x": columns[0] if columns else "records"}
            | ({"y": measures[0]} if measures else {}),
        },
    }


@dataclass
class Preview:
    """The draft's result and chart as the preview shows them, or why there are none."""

    result: ReportResult | None = None
    spec: dict[str, Any] | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    refusal: str | None = None


def preview_report(
    session: Session, actor: Actor, app_key: str, key: str, language: str
) -> Preview:
    """Run the draft on real data with the viewer's rights (nothing is saved)."""
    state = report_draft(session, actor, app_key, key)
    try:
        result = run_draft_report(session, actor, app_key, key, state.draft, language=language)
    except ValidationFailed as exc:
        return Preview(problems=exc.errors, refusal=exc.detail)
    except JizuoError as exc:
        return Preview(problems=exc.errors, refusal=exc.detail)
    spec = None
    if result.chart:
        try:
            spec = chart_spec(result.chart, result.long_columns, result.long_rows, language)
        except ValidationFailed as exc:
            return Preview(result=result, problems=exc.errors, refusal=exc.detail)
    return Preview(result=result, spec=spec)
