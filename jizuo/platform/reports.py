"""Reports: versioned definitions of kind ``report`` and what a viewer may see of them.

A report reads the records of one entity (or the rows of one of its child tables), follows
references to other entities, filters, groups and measures them::

    {"title": {"en": "Defects by supplier", "zh": "供应商缺陷"},
     "source": {"entity": "qms.inspection", "rows": "defects"},
     "filters": [{"field": "date", "op": "gte", "value": "2024-01-01"}],
     "where": "record.result == 'fail'",
     "group_by": [{"field": "supplier.name", "key": "supplier"},
                  {"field": "date", "bucket": "month"}],
     "measures": [{"key": "defects", "agg": "sum", "field": "defects.count"}],
     "top": {"n": 10, "by": "defects", "other": true},
     "chart": {"type": "bar", "x": "supplier", "y": "defects"}}

The body is checked against ``schemas/report-definition.json`` and then against the published
entities (:mod:`report_plan`) when it is saved and again when it is published; a report that no
longer fits its entities (a field removed since) is refused when it runs, with the same errors.

Running a report applies the viewer's rights on every entity it reads: the source entity and
every entity a reference leads to must be readable (else 403 naming the path), no field on the
way may be hidden from the viewer (else 403 naming the field), and the viewer's row scope
limits the records of each, so results are computed only over what the viewer may see.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.charts import chart_errors
from jizuo.platform.definitions import definition_checker, get_definition, published_body
from jizuo.platform.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    error,
)
from jizuo.platform.models import App
from jizuo.platform.permissions import EntityAccess, entity_access
from jizuo.platform.query import parse_filters
from jizuo.platform.report_fields import SOURCE, PathError, Source
from jizuo.platform.report_plan import FilterSpec, ReportPlan, plan_report
from jizuo.platform.report_result import long_columns

KIND = "report"
#: Query parameters of a report run that are not filters.
RESERVED_PARAMS = frozenset({"lang"})
_VERBS = {"read": "read", "export": "export"}


@cache
def _meta_validator() -> Draft202012Validator:
    text = resources.files("jizuo.platform").joinpath("schemas/report-definition.json")
    return Draft202012Validator(json.loads(text.read_text()))


def _pointer(parts: Any) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in parts)


@definition_checker(KIND)
def check_report(session: Session, actor: Actor, app: App, key: str, body: Any) -> dict:
    """Check a report body against the meta-schema, then against the published entities;
    every problem is reported at once with a JSON-pointer path."""
    errors = [
        error(_pointer(e.absolute_path), e.message, "schema")
        for e in sorted(_meta_validator().iter_errors(body), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        raise ValidationFailed("The report is not valid.", errors=errors)
    plan, errors = plan_report(session, actor, app, body)
    if not errors and plan is not None and plan.chart is not None:
        # What the chart builder itself requires (number columns for values…); a rule at a
        # measure's value is placed when the report runs.
        chart = {
            **plan.chart,
            "rules": [r for r in plan.chart.get("rules", []) if not isinstance(r["value"], str)],
        }
        errors = chart_errors(chart, long_columns(plan), "/chart")
    if errors:
        raise ValidationFailed("The report is not valid.", errors=errors)
    return body


@dataclass(frozen=True)
class PublishedReport:
    """The current published version of a report."""

    app: App
    key: str
    version: int
    body: dict[str, Any]


def published_report(session: Session, actor: Actor, app_key: str, key: str) -> PublishedReport:
    """A report of the actor's workspace that is published and switched on, or NotFound."""
    found = get_definition(session, actor, app_key, KIND, key)
    body = published_body(session, found)
    if body is None:
        raise NotFound(f"Report '{app_key}.{key}' has not been published.")
    if not found.enabled:
        raise NotFound(f"Report '{app_key}.{key}' is switched off.")
    app = session.get(App, found.app_id)
    assert app is not None
    return PublishedReport(app, key, found.published_version or 0, body)


def report_plan(session: Session, actor: Actor, report: PublishedReport) -> ReportPlan:
    """The plan of a published report against the entities as they are now."""
    plan, errors = plan_report(session, actor, report.app, report.body)
    if plan is None or errors:
        raise Conflict(
            f"Report '{report.app.key}.{report.key}' no longer fits the published entities; "
            "a designer must publish a corrected version.",
            errors=errors,
        )
    return plan


class ViewerAccess:
    """The viewer's rights on each entity a report reads (source and joins)."""

    def __init__(self, plan: ReportPlan, actor: Actor, action: str = "read"):
        self.plan, self.actor, self.action = plan, actor, action
        self._accesses: dict[str, EntityAccess] = {}

    def of(self, at: str) -> EntityAccess:
        """The access at SOURCE or a join; PermissionDenied if the viewer may not read there
        (or export, for an export)."""
        if at in self._accesses:
            return self._accesses[at]
        source = self.plan.source if at == SOURCE else self.plan.joins[at].target
        access = None
        if self.actor.may_use_app(source.app.key):
            access = entity_access(self.actor, source.app, source.definition)
        for action in dict.fromkeys(("read", self.action)):
            if access is None or not access.allows(action):
                raise self._refusal(at, source, action)
        self._accesses[at] = access
        return access

    def _refusal(self, at: str, source: Source, action: str) -> PermissionDenied:
        verb = _VERBS[action]
        if at == SOURCE:
            return PermissionDenied(f"You may not {verb} '{source.ref}' records.")
        uses = [
            error(where, f"'{ref.path}' reads '{source.ref}' through '{at}'", "forbidden")
            for ref, where in self.plan.used_fields()
            if any(hop == at for hop, _ in ref.guards)
        ]
        return PermissionDenied(
            f"This report follows '{at}' to '{source.ref}', whose records you may not {verb}.",
            errors=uses,
        )

    def accesses(self) -> dict[str, EntityAccess]:
        """Every entity's access, checking those not checked yet."""
        return {at: self.of(at) for at in (SOURCE, *self.plan.joins)}

    def hidden(self, guards: tuple[tuple[str, str], ...]) -> tuple[Source, str] | None:
        """The first field on a path that is hidden from the viewer, with its entity."""
        for at, key in guards:
            if key in self.of(at).hidden:
                return (self.plan.source if at == SOURCE else self.plan.joins[at].target), key
        return None

    def require(self) -> None:
        """Refuse the report if the viewer may not read what it reads, or reads a field hidden
        from the viewer."""
        self.accesses()
        problems, names = [], set()
        for ref, where in self.plan.used_fields():
            found = self.hidden(ref.guards)
            if found:
                message = f"'{ref.path}' reads the field '{found[1]}' of '{found[0].ref}'"
                problems.append(error(where, message, "hidden"))
                names.add(f"{found[0].ref}.{found[1]}")
        hidden = self.of(SOURCE).hidden
        for key in self.plan.where_fields:
            if key in hidden:
                message = f"the condition reads the field '{key}' of '{self.plan.source.ref}'"
                problems.append(error("/where", message, "hidden"))
                names.add(f"{self.plan.source.ref}.{key}")
        if problems:
            raise PermissionDenied(
                f"This report reads fields hidden from you: {', '.join(sorted(names))}.",
                errors=problems,
            )


def query_filters(
    plan: ReportPlan, params: Mapping[str, str], viewer: ViewerAccess
) -> list[FilterSpec]:
    """Filters given as query parameters (``supplier.name=Acme``, ``date__gte=2024-01-01``),
    with the operators of list filters; a field that is unknown or hidden from the viewer is
    answered alike, as in lists."""
    specs = []
    for flt in parse_filters(dict(params), set(RESERVED_PARAMS)):
        try:
            ref = plan.resolver.resolve(flt.name)
        except PathError as exc:
            raise BadRequest(
                f"Unknown field '{flt.name}' in filter.", errors=[error(flt.name, str(exc))]
            ) from None
        if viewer.hidden(ref.guards):
            raise BadRequest(
                f"Unknown field '{flt.name}' in filter.",
                errors=[error(flt.name, f"the report has no field '{flt.name}'")],
            )
        if ref.type == "object" or (ref.type == "array" and (ref.at != SOURCE or ref.in_table)):
            raise BadRequest(
                f"Cannot filter on '{flt.name}'.",
                errors=[error(flt.name, "filter on a field that holds one value")],
            )
        specs.append(FilterSpec(ref, flt.op, flt.value, flt.name))
    return specs
