"""Random bodies and query strings never crash the API and never write on refusal."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from jizuo.platform.models import Record, RecordHistory
from tests import factories

NCRS = "/api/v1/apps/qms/entities/ncr/records"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
field_names = st.sampled_from(
    ["lot_no", "source", "qty_rejected", "unit_cost", "cost", "number", "defects", "supplier",
     "disposition", "complaint", "bogus"]
)  # fmt: skip
bodies = st.dictionaries(field_names, json_values, max_size=6) | json_values


def _counts(session):
    session.expire_all()
    counts = (
        session.scalar(select(func.count()).select_from(Record)),
        session.scalar(select(func.count()).select_from(RecordHistory)),
    )
    session.rollback()
    return counts


def _headers(session):
    """The workspace and token, made once per test (hypothesis reuses the fixtures)."""
    if "headers" not in session.info:
        session.info["headers"] = _setup(session)
    return session.info["headers"]


def _setup(session):
    ws = factories.workspace(session)
    user, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    factories.published(session, actor, "qms", factories.NCR)
    token = factories.token(session, ws, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_random_record_bodies_get_a_clear_answer(session, client, body):
    headers = _headers(session)
    before = _counts(session)
    r = client.post(NCRS, data=json.dumps(body), content_type="application/json", headers=headers)
    assert r.status_code in (201, 400, 422), r.json
    if r.status_code != 201:
        assert r.headers["Content-Type"] == "application/problem+json"
        assert _counts(session) == before


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["lot_no", "qty_rejected__gte", "defects.code", "source__in", "order_by",
                         "limit", "cursor", "unit_cost__lt", "bogus__eq", "supplier__null"]),
        st.text(max_size=12),
        max_size=3,
    )
)  # fmt: skip
def test_random_query_strings_get_a_clear_answer(session, client, params):
    headers = _headers(session)
    r = client.get(NCRS, query_string=params, headers=headers)
    assert r.status_code in (200, 400), r.json
