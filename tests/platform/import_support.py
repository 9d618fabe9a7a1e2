"""Entities, files and a client for the import tests (helpers, no tests of their own)."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

from sqlalchemy import func, select

from jizuo.platform.models import Record, RecordHistory
from jizuo.platform.records import RecordStore
from tests import factories

SUPPLIER = {
    "key": "supplier",
    "title": {"en": "Supplier", "zh": "供应商"},
    "title_field": "name",
    "schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": {"en": "Name", "zh": "名称"}},
            "code": {"type": "string", "title": {"en": "Code", "zh": "代码"}, "x-index": True},
        },
        "required": ["name"],
    },
}

PART = {
    "key": "part",
    "title": {"en": "Part", "zh": "零件"},
    "title_field": "code",
    "schema": {
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "maxLength": 20,
                "x-unique": True,
                "title": {"en": "Part code", "zh": "零件编号"},
            },
            "name": {"type": "string", "title": {"en": "Name", "zh": "名称"}},
            "supplier": {
                "type": "integer",
                "x-ref": "erp.supplier",
                "title": {"en": "Supplier", "zh": "供应商"},
            },
            "weight": {"type": "number", "minimum": 0, "title": {"en": "Weight", "zh": "重量"}},
            "qty": {"type": "integer", "minimum": 0, "title": {"en": "Quantity", "zh": "数量"}},
            "received": {
                "type": "string",
                "format": "date",
                "title": {"en": "Received", "zh": "到货日期"},
            },
            "inspected_at": {
                "type": "string",
                "format": "date-time",
                "title": {"en": "Inspected at", "zh": "检验时间"},
            },
            "active": {"type": "boolean", "title": {"en": "Active", "zh": "启用"}},
            "grade": {
                "type": "string",
                "enum": ["a", "b"],
                "x-enum-labels": {
                    "a": {"en": "Grade A", "zh": "甲级"},
                    "b": {"en": "Grade B", "zh": "乙级"},
                },
                "title": {"en": "Grade", "zh": "等级"},
            },
            "colours": {
                "type": "array",
                "items": {"type": "string", "enum": ["red", "green", "blue"]},
                "uniqueItems": True,
                "title": {"en": "Colours", "zh": "颜色"},
            },
            "owner": {"type": "integer", "x-user": True, "title": {"en": "Owner", "zh": "负责人"}},
            "total": {"type": "number", "x-formula": "coalesce(qty, 0) * coalesce(weight, 0)"},
        },
        "required": ["code", "name"],
    },
    "rules": {
        "validations": [
            {
                "expr": "coalesce(qty, 0) <= 1000",
                "field": "qty",
                "message": {"en": "At most 1000 parts", "zh": "最多1000件"},
            }
        ]
    },
}

PARTS = "/api/v1/apps/erp/entities/part/imports"


def part_copy() -> dict[str, Any]:
    """The part entity again under another key: an empty entity to import an export into."""
    definition = copy.deepcopy(PART)
    definition["key"] = "part_copy"
    return definition


class Shop:
    """A workspace with suppliers (by code) and parts, an admin with a token."""

    def __init__(self, session, client):  # noqa: ANN001
        self.session, self.client = session, client
        self.ws = factories.workspace(session)
        self.user, self.admin = factories.member(session, self.ws, "root", ("admin",))
        factories.published(session, self.admin, "erp", SUPPLIER)
        factories.published(session, self.admin, "erp", PART)
        suppliers = RecordStore(session, self.admin).entity("erp", "supplier")
        self.acme = suppliers.create({"name": "Acme", "code": "S-001"}).id
        self.bolt = suppliers.create({"name": "Bolt", "code": "S-002"}).id
        self.token = factories.token(session, self.ws, self.user)
        session.commit()
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def post(self, content: bytes, filename: str = "parts.csv", headers=None, url=PARTS, **form):  # noqa: ANN001, ANN003, ANN201
        data = {k: v for k, v in form.items() if v is not None}
        if content is not None:
            data["file"] = (io.BytesIO(content), filename)
        return self.client.post(
            url,
            data=data,
            headers={**self.headers, **(headers or {})},
            content_type="multipart/form-data",
        )

    def parts(self, key: str = "part") -> list[dict[str, Any]]:
        """The data of the live records of an entity, by code."""
        self.session.expire_all()
        records = RecordStore(self.session, self.admin).entity("erp", key)
        found = self.session.scalars(
            select(Record).where(Record.entity_id == records.entity_id, Record.deleted_at.is_(None))
        ).all()
        self.session.rollback()
        return sorted((r.data for r in found), key=lambda d: d["code"])

    def counts(self) -> tuple[int, int]:
        """Records and history entries in the database."""
        self.session.expire_all()
        counts = (
            self.session.scalar(select(func.count()).select_from(Record)),
            self.session.scalar(select(func.count()).select_from(RecordHistory)),
        )
        self.session.rollback()
        return counts


def csv_bytes(rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


HEADER = ["Part code", "Name", "Supplier", "Weight", "Quantity", "Received", "Active", "Grade"]

#: Three good rows and three bad ones (file rows 3, 5 and 7), each bad for a known reason.
MIXED = [
    HEADER,
    ["P-1", "Bolt M6", "S-001", "1,5", "10", "2026-11-25", "yes", "Grade A"],
    ["P-2", "Nut M6", "S-002", "abc", "5", "25.11.2026", "no", "b"],
    ["P-3", "Washer", "S-002", "0.25", "7", "2026/11/26", "1", "甲级"],
    ["P-4", "", "S-001", "2", "1", "2026-11-27", "0", "a"],
    ["P-5", "Spring", "S-001", "1.234,5", "3", "27.11.2026", "是", "乙级"],
    ["P-6", "Pin", "S-999", "1", "2000", "2026-11-28", "true", "a"],
]
GOOD_CODES = ["P-1", "P-3", "P-5"]
