"""What only PostgreSQL has: JSONB record data and its containment filters."""

from __future__ import annotations

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.postgres


def test_record_data_is_jsonb(session):
    column_type = session.execute(
        text(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'records' AND column_name = 'data'"
        )
    ).scalar_one()
    assert column_type == "jsonb"


def test_multi_select_filter_uses_jsonb_containment(session):
    from jizuo.platform.query import Filter, filter_clause
    from jizuo.platform.records import RecordStore
    from tests import factories

    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    factories.published(session, actor, "lab", factories.EVERY_TYPE)
    specimens = RecordStore(session, actor).entity("lab", "specimen")
    specimens.create_many([{"multi_select": ["red", "blue"]}, {"multi_select": ["green"]}])
    session.commit()
    clause = filter_clause(
        "postgresql", specimens.definition, Filter("multi_select", "contains", "red")
    )
    assert "@>" in str(clause.compile(session.connection()))
    page = specimens.list([Filter("multi_select", "contains", "red")])
    assert [r.data["multi_select"] for r in page.items] == [["red", "blue"]]
