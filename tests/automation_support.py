"""Shared set-up of the automation tests: two apps (sales.order, svc.ticket) and helpers."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from jizuo.platform.definitions import publish_definition, save_draft_definition
from jizuo.platform.models import Job, Record
from jizuo.platform.records import RecordStore
from tests import factories

ORDER = {
    "key": "order",
    "title": "Order",
    "title_field": "number",
    "schema": {
        "type": "object",
        "properties": {
            "number": {"type": "string", "maxLength": 50},
            "qty": {"type": "integer"},
            "status": {"type": "string", "enum": ["new", "ticketed", "closed"]},
            "counter": {"type": "integer"},
        },
        "required": ["number"],
    },
}

TICKET = {
    "key": "ticket",
    "title": "Ticket",
    "title_field": "note",
    "schema": {
        "type": "object",
        "properties": {
            "order": {"type": "integer", "x-ref": "sales.order"},
            "note": {"type": "string"},
            "source": {"type": "string"},
        },
    },
}


def plant(session, key: str = "acme"):  # noqa: ANN001, ANN201
    """A workspace with a designer and the two apps; returns (workspace, designer actor)."""
    ws = factories.workspace(session, key)
    _, actor = factories.member(session, ws, f"dee_{key}", ("designer",))
    factories.published(session, actor, "sales", copy.deepcopy(ORDER))
    factories.published(session, actor, "svc", copy.deepcopy(TICKET))
    session.commit()
    return ws, actor


def automate(session, actor, key: str, body: dict[str, Any], app: str = "sales"):  # noqa: ANN001, ANN201
    """Save and publish an automation."""
    save_draft_definition(session, actor, app, "automation", key, copy.deepcopy(body))
    version = publish_definition(session, actor, app, "automation", key)
    session.commit()
    return version


def create(session, actor, app: str, entity: str, data: dict[str, Any]) -> int:  # noqa: ANN001
    record = RecordStore(session, actor).entity(app, entity).create(data)
    record_id = record.id
    session.commit()
    return record_id


def records(session, actor, app: str, entity: str) -> list[Record]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    store = RecordStore(session, actor).entity(app, entity)
    return store.list(limit=500).items


def jobs(session) -> list[Job]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Job).where(Job.kind == "platform.run_automation")))


#: order created → a ticket for it in the other app; ticket created → the order is ticketed.
CHAIN_A = {
    "trigger": {"on": "created", "entity": "sales.order"},
    "actions": [
        {
            "type": "create_record",
            "entity": "svc.ticket",
            "values": {"order": "record.id", "note": "'for ' + record.number", "source": "'auto'"},
        }
    ],
}
CHAIN_B = {
    "trigger": {"on": "created", "entity": "svc.ticket"},
    "condition": "record.source == 'auto'",
    "actions": [
        {
            "type": "update_record",
            "target": {"reference": "order"},
            "values": {"status": "'ticketed'"},
        }
    ],
}


def use_rq(app, redis_url: str):  # noqa: ANN001, ANN201
    """Send jobs to rq (queue prefix ``jizuo-auto``, emptied); returns a function that runs
    a burst worker over every queue until nothing is left."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    app.config.update(REDIS_URL=redis_url, QUEUE_NAME="jizuo-auto", JOB_RETRY_SECONDS=0)
    connection = Redis.from_url(redis_url)
    names = ["jizuo-auto", *(f"jizuo-auto:{q}" for q in ("high", "default", "low"))]
    queues = [Queue(name, connection=connection) for name in names]
    for queue in queues:
        queue.empty()

    def work(session) -> None:  # noqa: ANN001
        session.rollback()  # end the read before the worker writes (SQLite allows one writer)
        SimpleWorker(queues, connection=connection).work(burst=True)

    return work
