"""A plant to test reports on: countries and suppliers (app erp), parts and incoming inspections
with defect lines (app qms), seeded from a fixed random sequence.

The seed data stays available as plain Python (``inspections``, ``suppliers``…), so a test can
compute the expected figures with pandas on its own and compare them with the report engine.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from jizuo.platform import definitions
from jizuo.platform.auth import add_member
from jizuo.platform.models import App
from jizuo.platform.permissions import define_role, save_app_permissions
from jizuo.platform.records import RecordStore
from tests import factories

COUNTRY = {
    "key": "country",
    "title": {"en": "Country", "zh": "国家"},
    "schema": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
        "required": ["code"],
    },
}
SUPPLIER = {
    "key": "supplier",
    "title": {"en": "Supplier", "zh": "供应商"},
    "schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": {"en": "Supplier", "zh": "供应商"}},
            "country": {"type": "integer", "x-ref": "erp.country"},
            "rating": {"type": "integer"},
            "terms": {"type": "string"},
        },
        "required": ["name"],
    },
}
PART = {
    "key": "part",
    "title": "Part",
    "schema": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "weight": {"type": "number"}},
        "required": ["code"],
    },
}
INSPECTION = {
    "key": "inspection",
    "title": {"en": "Incoming inspection", "zh": "来料检验"},
    "schema": {
        "type": "object",
        "properties": {
            "supplier": {"type": "integer", "x-ref": "erp.supplier"},
            "date": {"type": "string", "format": "date", "title": {"en": "Date", "zh": "日期"}},
            "inspected_at": {"type": "string", "format": "date-time"},
            "result": {"type": "string", "enum": ["pass", "fail"]},
            "qty_inspected": {"type": "integer", "minimum": 0},
            "measured": {"type": "number"},
            "cost": {"type": "number"},
            "urgent": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "defects": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "count": {"type": "integer", "minimum": 1},
                        "part": {"type": "integer", "x-ref": "qms.part"},
                    },
                    "required": ["code", "count"],
                },
            },
        },
        "required": ["date", "result", "qty_inspected"],
    },
}
CODES = ("D1", "D2", "D3", "D4", "D5")
CODE_WEIGHTS = (8, 5, 3, 2, 1)
ZONES = ("+08:00", "Z", "-05:00", "")


class ReportPlant:
    """A workspace holding the seeded apps, an admin, and people in roles of their own."""

    def __init__(self, session, n: int = 160, seed: int = 7, key: str = "acme"):  # noqa: ANN001
        self.session = session
        self.ws = factories.workspace(session, key)
        self.admin_user, self.admin = factories.member(session, self.ws, f"root_{key}", ("admin",))
        for definition, app in ((COUNTRY, "erp"), (SUPPLIER, "erp"), (PART, "qms")):
            factories.published(session, self.admin, app, definition)
        factories.published(session, self.admin, "qms", INSPECTION)
        for role in ("inspector", "buyer", "auditor"):
            define_role(session, self.admin, role, role.title())
        store = RecordStore(session, self.admin)
        rng = random.Random(seed)
        countries = store.entity("erp", "country")
        self.countries = {
            c: countries.create({"code": c, "name": n_}).id
            for c, n_ in (("CN", "China"), ("DE", "Germany"))
        }
        self.suppliers: dict[int, dict[str, Any]] = {}
        for i, (name, country) in enumerate(
            (("Acme", "CN"), ("Bolt", "DE"), ("Cog", "CN"), ("Dyn", None), ("Idle", "DE"))
        ):
            data = {"name": name, "rating": 50 + 10 * i, "terms": f"net {30 + i}"}
            if country:
                data["country"] = self.countries[country]
            self.suppliers[store.entity("erp", "supplier").create(data).id] = {
                **data,
                "country_code": country,
            }
        parts = store.entity("qms", "part")
        self.parts = {
            parts.create({"code": f"P{i}", "weight": 1.5 * i}).id: 1.5 * i for i in range(1, 4)
        }
        active = list(self.suppliers)[:4]  # the fifth supplier has no inspections
        self.inspections: list[dict[str, Any]] = []
        start = date(2023, 11, 20)
        rows = []
        for _ in range(n):
            day = start + timedelta(days=rng.randrange(0, 230))
            stamp = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60))
            data: dict[str, Any] = {
                "date": day.isoformat(),
                "inspected_at": stamp.isoformat() + rng.choice(ZONES),
                "result": rng.choice(("pass", "pass", "fail")),
                "qty_inspected": rng.randrange(50, 5000),
                "measured": round(rng.gauss(10, 0.4), 3),
                "cost": round(rng.uniform(0, 900), 2),
                "urgent": rng.random() < 0.3,
            }
            if rng.random() < 0.92:
                data["supplier"] = rng.choice(active)
            if rng.random() < 0.1:
                del data["measured"]
            defects = []
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                line = {"code": rng.choices(CODES, CODE_WEIGHTS)[0], "count": rng.randrange(1, 9)}
                if rng.random() < 0.7:
                    line["part"] = rng.choice(list(self.parts))
                defects.append(line)
            if defects:
                data["defects"] = defects
            rows.append(data)
        ids = store.entity("qms", "inspection").create_many(rows)
        for record_id, data in zip(ids, rows, strict=True):
            self.inspections.append({"id": record_id, **data})
        session.commit()

    # -- people and definitions ------------------------------------------------------------

    def person(self, name: str, roles: tuple[str, ...], **attributes: Any) -> dict[str, str]:
        """Bearer headers of a new member."""
        user, _ = factories.member(self.session, self.ws, name, roles)
        if attributes:
            add_member(self.session, user, self.ws, list(roles), attributes)
        token = factories.token(self.session, self.ws, user)
        self.session.commit()
        return {"Authorization": f"Bearer {token}"}

    def policy(self, app_key: str, policy: dict) -> None:
        app = self.session.scalar(
            select(App).where(App.workspace_id == self.ws.id, App.key == app_key)
        )
        save_app_permissions(self.session, self.admin, app, policy)
        self.session.commit()

    def report(self, key: str, body: dict[str, Any], app: str = "qms") -> None:
        """Save and publish a report as the admin."""
        definitions.save_draft_definition(self.session, self.admin, app, "report", key, body)
        definitions.publish_definition(self.session, self.admin, app, "report", key)
        self.session.commit()

    # -- the seed data as pandas sees it ---------------------------------------------------

    def frame(self) -> pd.DataFrame:
        """One row per inspection, with its supplier's fields (none for no supplier)."""
        rows = []
        for data in self.inspections:
            supplier = self.suppliers.get(data.get("supplier"), {})
            lines = data.get("defects", [])
            rows.append(
                {
                    **{k: v for k, v in data.items() if k != "defects"},
                    "supplier_name": supplier.get("name"),
                    "country_code": supplier.get("country_code"),
                    "defect_count": sum(line["count"] for line in lines),
                    "defect_lines": len(lines),
                    "utc_day": utc_day(data["inspected_at"]),
                }
            )
        return pd.DataFrame(rows)

    def defect_frame(self) -> pd.DataFrame:
        """One row per defect line, with its inspection's fields."""
        rows = []
        for data in self.inspections:
            supplier = self.suppliers.get(data.get("supplier"), {})
            for line in data.get("defects", []):
                rows.append(
                    {
                        "id": data["id"],
                        "date": data["date"],
                        "supplier_name": supplier.get("name"),
                        "code": line["code"],
                        "count": line["count"],
                        "weight": self.parts.get(line.get("part")),
                    }
                )
        return pd.DataFrame(rows)


def utc_day(stamp: str) -> str:
    """The UTC day of an ISO date-time (one without an offset taken as UTC)."""
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.date().isoformat()


def week_start(day: str) -> str:
    """The Monday of an ISO week."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def bucket(day: str, size: str) -> str:
    """The first day of a date's day, ISO week, month, quarter or year."""
    d = date.fromisoformat(day)
    if size == "day":
        return d.isoformat()
    if size == "week":
        return week_start(day)
    if size == "month":
        return d.replace(day=1).isoformat()
    if size == "quarter":
        return d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1).isoformat()
    return d.replace(month=1, day=1).isoformat()
