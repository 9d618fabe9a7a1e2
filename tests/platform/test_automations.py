"""Automations: checked definitions, record triggers, conditions, chains across apps,
exactly-once actions on retries, loop depth, schedules and workspace isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from jizuo.platform import automations
from jizuo.platform.automation_runner import run_due_schedules
from jizuo.platform.definitions import set_enabled
from jizuo.platform.errors import ValidationFailed
from jizuo.platform.jobs import execute_job
from jizuo.platform.models import ActionReceipt, Job
from jizuo.platform.records import RecordStore
from jizuo.platform.registry import register_pack_function
from tests.automation_support import (
    CHAIN_A,
    CHAIN_B,
    automate,
    create,
    jobs,
    plant,
    records,
    use_rq,
)
from tests.conftest import REDIS_URL

CALLS: list[dict] = []


def _remember(session, actor, **args):  # noqa: ANN001, ANN003, ANN202
    CALLS.append({"workspace": actor.workspace_id, "depth": actor.depth, **args})
    return {"seen": sorted(args)}


register_pack_function("testpack.remember", _remember)


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()


@pytest.fixture
def acme(session):  # noqa: ANN001, ANN201
    return plant(session)


# -- checking -------------------------------------------------------------------------


def test_every_problem_of_a_definition_is_reported_at_once(session, acme):
    _, actor = acme
    body = {
        "trigger": {"on": "updated", "entity": "sales.order", "fields": ["qty", "nope"]},
        "condition": "record.qty > ",
        "actions": [
            {"type": "create_record", "entity": "svc.missing", "values": {"x": "1"}},
            {"type": "create_record", "entity": "svc.ticket", "values": {"bogus": "record.zzz"}},
            {"type": "update_record", "target": {"reference": "qty"}, "values": {}},
            {"type": "call", "function": "nopack.nothing", "args": {"a": "unknown_name"}},
            {"type": "notify", "users": ["ghost"], "roles": ["no_such_role"], "text": "{{ 1 + }}"},
            {"type": "webhook", "url": "https://example.com/h", "body": {"a": "{{ payload }}"}},
        ],
    }
    with pytest.raises(ValidationFailed) as caught:
        automate(session, actor, "bad", body)
    paths = {e["path"] for e in caught.value.errors}
    assert paths >= {
        "/trigger/fields/1",
        "/condition",
        "/actions/0/entity",
        "/actions/1/values/bogus",
        "/actions/2/target/reference",
        "/actions/3/function",
        "/actions/3/args/a",
        "/actions/4/users/0",
        "/actions/4/roles/0",
        "/actions/4/text",
        "/actions/5/body/a",
    }, caught.value.errors
    session.rollback()


def test_shape_errors_and_schedule_checks(session, acme):
    _, actor = acme
    with pytest.raises(ValidationFailed) as caught:
        automate(session, actor, "shape", {"trigger": {"on": "sometimes"}, "actions": [{}]})
    assert {e["path"] for e in caught.value.errors} >= {"/trigger/on", "/actions/0"}
    session.rollback()
    schedule = {
        "trigger": {"on": "schedule", "cron": "61 * * * *", "timezone": "Mars/Olympus"},
        "actions": [{"type": "update_record", "target": "trigger", "values": {}}],
    }
    with pytest.raises(ValidationFailed) as caught:
        automate(session, actor, "sched", schedule)
    assert {e["path"] for e in caught.value.errors} == {
        "/trigger/cron",
        "/trigger/timezone",
        "/actions/0/target",
    }
    session.rollback()


def test_definitions_over_the_api(session, acme, client):
    from jizuo.platform.models import User, Workspace
    from tests import factories

    ws, actor = acme
    user = session.get(User, actor.user_id)
    headers = {
        "Authorization": f"Bearer {factories.token(session, session.get(Workspace, ws.id), user)}"
    }
    session.commit()
    base = "/api/v1/apps/sales/automations/ticketing"
    saved = client.put(f"{base}/draft", json=CHAIN_A, headers=headers)
    assert saved.status_code == 200, saved.json
    assert client.post(f"{base}/publish", headers=headers).status_code == 201
    bad = client.put(f"{base}/draft", json={"trigger": {"on": "created"}}, headers=headers)
    assert bad.status_code == 422 and bad.json["errors"]


# -- record triggers ------------------------------------------------------------------


def test_a_chain_across_two_apps_completes(session, acme):
    _, actor = acme
    automate(session, actor, "ticketing", CHAIN_A)
    automate(session, actor, "ticketed", CHAIN_B, app="svc")
    order_id = create(session, actor, "sales", "order", {"number": "SO-1", "qty": 3})
    [ticket] = records(session, actor, "svc", "ticket")
    assert ticket.data == {"order": order_id, "note": "for SO-1", "source": "auto"}
    assert ticket.created_by is None  # the automation, not a user
    [order] = records(session, actor, "sales", "order")
    assert order.data["status"] == "ticketed" and order.version == 2
    runs = jobs(session)
    # order created → ticket created; the order's update fires nothing
    assert all(j.status == "finished" for j in runs), [(j.status, j.error) for j in runs]
    assert sorted(j.args["event"]["depth"] for j in runs) == [0, 1]


def test_false_condition_does_nothing(session, acme):
    _, actor = acme
    automate(session, actor, "big_orders", {**CHAIN_A, "condition": "record.qty > 10"})
    create(session, actor, "sales", "order", {"number": "SO-2", "qty": 1})
    assert records(session, actor, "svc", "ticket") == []
    [run] = jobs(session)
    assert run.status == "finished" and run.result == {"condition": False}
    create(session, actor, "sales", "order", {"number": "SO-3", "qty": 11})
    assert len(records(session, actor, "svc", "ticket")) == 1


def test_updated_fires_only_for_the_listed_fields(session, acme):
    _, actor = acme
    body = {
        "trigger": {"on": "updated", "entity": "sales.order", "fields": ["qty"]},
        "actions": [
            {"type": "call", "function": "testpack.remember", "args": {"qty": "record.qty"}}
        ],
    }
    automate(session, actor, "qty_watch", body)
    order_id = create(session, actor, "sales", "order", {"number": "SO-4", "qty": 1})
    store = RecordStore(session, actor).entity("sales", "order")
    store.update(order_id, {"status": "closed"}, 1)
    session.commit()
    assert CALLS == []
    store = RecordStore(session, actor).entity("sales", "order")
    store.update(order_id, {"qty": 5}, 2)
    session.commit()
    assert CALLS == [{"workspace": actor.workspace_id, "depth": 1, "qty": 5}]


def test_rolled_back_change_enqueues_nothing_and_disabled_automations_are_quiet(session, acme):
    _, actor = acme
    automate(session, actor, "ticketing", CHAIN_A)
    RecordStore(session, actor).entity("sales", "order").create({"number": "SO-5"})
    session.rollback()
    assert jobs(session) == [] and records(session, actor, "svc", "ticket") == []
    set_enabled(session, actor, "sales", "automation", "ticketing", False)
    session.commit()
    create(session, actor, "sales", "order", {"number": "SO-6"})
    assert jobs(session) == [] and records(session, actor, "svc", "ticket") == []


def test_a_retried_or_duplicated_job_creates_nothing_twice(session, acme):
    _, actor = acme
    body = {
        **CHAIN_A,
        "actions": [
            *CHAIN_A["actions"],
            {"type": "call", "function": "testpack.remember", "args": {"n": "record.number"}},
        ],
    }
    automate(session, actor, "ticketing", body)
    create(session, actor, "sales", "order", {"number": "SO-7"})
    [run] = jobs(session)
    assert run.status == "finished" and len(CALLS) == 1
    # A delivery of the same job again (a worker that died after the effects, say).
    run.status = "started"
    session.commit()
    outcome = execute_job(run.id)
    [run] = jobs(session)
    assert run.status == "finished", (outcome, run.error)
    assert [a.get("again") for a in run.result["actions"]] == [True, True]
    assert len(records(session, actor, "svc", "ticket")) == 1 and len(CALLS) == 1
    keys = sorted(session.scalars(select(ActionReceipt.key)))
    assert keys == [f"auto:{run.args['definition_id']}:v1:{run.args['event']['workspace_id']}:"
                    f"{run.args['event']['seq']}:{i}" for i in (0, 1)]  # fmt: skip


def test_an_automation_loop_stops_at_the_maximum_depth(app, session, acme):
    _, actor = acme
    app.config["AUTOMATION_MAX_DEPTH"] = 3
    body = {
        "trigger": {"on": "updated", "entity": "sales.order", "fields": ["counter"]},
        "actions": [
            {
                "type": "update_record",
                "target": "trigger",
                "values": {"counter": "record.counter + 1"},
            }
        ],
    }
    automate(session, actor, "again_and_again", body)
    order_id = create(session, actor, "sales", "order", {"number": "SO-8", "counter": 0})
    RecordStore(session, actor).entity("sales", "order").update(order_id, {"counter": 1}, 1)
    session.commit()
    [order] = records(session, actor, "sales", "order")
    assert order.data["counter"] == 4  # the user's change, then three automations in a row
    runs = sorted(jobs(session), key=lambda j: j.args["event"]["depth"])
    assert [j.status for j in runs] == ["finished", "finished", "finished", "failed"]
    assert "automation loop stopped at depth 4" in runs[-1].error
    assert runs[-1].attempts == 1  # not retried: it would stop again


@pytest.mark.redis
def test_a_chain_runs_through_rq_and_a_second_delivery_changes_nothing(app, session, acme):
    _, actor = acme
    work = use_rq(app, REDIS_URL)
    automate(session, actor, "ticketing", CHAIN_A)
    automate(session, actor, "ticketed", CHAIN_B, app="svc")
    create(session, actor, "sales", "order", {"number": "SO-R", "qty": 3})
    assert [j.status for j in jobs(session)] == ["queued"]  # not run in-process
    work(session)
    [order] = records(session, actor, "sales", "order")
    assert order.data["status"] == "ticketed"
    runs = jobs(session)
    assert [j.status for j in runs] == ["finished", "finished"], [j.error for j in runs]
    from jizuo.platform.jobs import dispatch

    for run in runs:  # delivered again (rq gets the job id once more)
        run.status = "started"
    session.commit()
    for run in runs:
        dispatch(app, run.id)
    work(session)
    assert len(records(session, actor, "svc", "ticket")) == 1
    assert [j.status for j in jobs(session)] == ["finished", "finished"]


# -- other triggers -------------------------------------------------------------------


def test_due_times_follow_the_cron_in_its_time_zone():
    monday_7am_shanghai = datetime(2026, 3, 1, 23, 0, 30, tzinfo=UTC)
    due = automations.due_time("0 7 * * 1-5", "Asia/Shanghai", monday_7am_shanghai)
    assert due.astimezone(UTC) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    sunday = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # Sunday 10:00 in Shanghai
    due = automations.due_time("0 7 * * 1-5", "Asia/Shanghai", sunday)
    assert due.astimezone(UTC) == datetime(2026, 2, 26, 23, 0, tzinfo=UTC)  # Friday 07:00


def test_scheduled_automations_run_once_per_due_time(app, session, acme):
    _, actor = acme
    body = {
        "trigger": {"on": "schedule", "cron": "*/5 * * * *", "timezone": "Asia/Shanghai"},
        "condition": "now != None",
        "actions": [
            {"type": "create_record", "entity": "svc.ticket", "values": {"note": "'daily check'"}}
        ],
    }
    automate(session, actor, "daily", body)
    session.rollback()
    # Ten seconds past a five-minute mark, so "thirty seconds later" is the same due time.
    ahead = datetime.now(UTC) + timedelta(minutes=6)
    soon = ahead.replace(minute=ahead.minute - ahead.minute % 5, second=10, microsecond=0)
    assert run_due_schedules(app, soon) == 1
    assert run_due_schedules(app, soon + timedelta(seconds=30)) == 0  # the same due time
    assert [t.data["note"] for t in records(session, actor, "svc", "ticket")] == ["daily check"]
    assert run_due_schedules(app, soon + timedelta(minutes=5)) == 1
    assert run_due_schedules(app, datetime.now(UTC) - timedelta(days=1)) == 0  # before publishing
    assert len(records(session, actor, "svc", "ticket")) == 2


def test_the_schedule_check_is_a_periodic_function():
    from jizuo.platform.periodic import periodic_names

    assert "automations.schedules" in periodic_names()


# -- isolation ------------------------------------------------------------------------


def test_an_automation_never_touches_another_workspace(session):
    ws_a, actor_a = plant(session, "alpha")
    ws_b, actor_b = plant(session, "beta")
    automate(session, actor_a, "ticketing", CHAIN_A)
    body = {
        "trigger": {"on": "created", "entity": "sales.order"},
        "actions": [
            {"type": "call", "function": "testpack.remember", "args": {"id": "record.id"}},
            {"type": "notify", "roles": ["designer"], "text": "new order {{ record.number }}"},
        ],
    }
    automate(session, actor_a, "remember", body)
    create(session, actor_b, "sales", "order", {"number": "B-1"})
    assert jobs(session) == [] and CALLS == []
    assert records(session, actor_b, "svc", "ticket") == []
    a_order = create(session, actor_a, "sales", "order", {"number": "A-1"})
    assert [t.data["order"] for t in records(session, actor_a, "svc", "ticket")] == [a_order]
    assert records(session, actor_b, "svc", "ticket") == []
    assert CALLS == [{"workspace": ws_a.id, "depth": 1, "id": a_order}]
    from jizuo.platform.models import Notification

    notified = session.execute(select(Notification.workspace_id, Notification.user_id)).all()
    assert notified == [(ws_a.id, actor_a.user_id)]
    assert (
        session.scalar(select(func.count()).select_from(Job).where(Job.workspace_id == ws_b.id))
        == 0
    )


# -- workflows ------------------------------------------------------------------------

ORDER_FLOW = {
    "entity": "order",
    "initial": "new",
    "states": [
        {"key": "new", "title": "New", "category": "draft"},
        {"key": "approved", "title": "Approved", "category": "done"},
    ],
    "transitions": [{"key": "approve", "title": "Approve", "from": ["new"], "to": "approved"}],
}


def test_a_transition_action_and_a_state_entered_trigger(session, acme):
    _, actor = acme
    from jizuo.platform.definitions import publish_definition, save_draft_definition

    save_draft_definition(session, actor, "sales", "workflow", "order_flow", ORDER_FLOW)
    publish_definition(session, actor, "sales", "workflow", "order_flow")
    session.commit()
    automate(session, actor, "ticketing", CHAIN_A)
    approve = {
        "trigger": {"on": "created", "entity": "svc.ticket"},
        "actions": [
            {"type": "transition", "target": {"reference": "order"}, "name": "approve",
             "comment": "ticket {{ record.id }} opened"}
        ],
    }  # fmt: skip
    automate(session, actor, "approve_ticketed", approve, app="svc")
    entered = {
        "trigger": {"on": "state_entered", "entity": "sales.order", "state": "approved"},
        "actions": [
            {"type": "call", "function": "testpack.remember",
             "args": {"state": "record.state", "came_from": "event.from_state"}}
        ],
    }  # fmt: skip
    automate(session, actor, "on_approved", entered)
    order_id = create(session, actor, "sales", "order", {"number": "SO-W"})
    [order] = records(session, actor, "sales", "order")
    assert order.id == order_id and order.state == "approved"
    runs = jobs(session)
    assert [j.status for j in runs] == ["finished"] * 3, [j.error for j in runs]
    assert CALLS == [
        {"workspace": actor.workspace_id, "depth": 3, "state": "approved", "came_from": "new"}
    ]


def test_runs_of_changes_in_savepoints_wait_for_the_commit_and_go_with_a_rollback(session, acme):
    _, actor = acme
    automate(session, actor, "ticketing", CHAIN_A)
    orders = RecordStore(session, actor).entity("sales", "order")
    savepoint = session.begin_nested()
    orders.create({"number": "SP-1"})
    savepoint.rollback()
    with session.begin_nested():
        orders.create({"number": "SP-2"})
    assert session.scalars(select(Job)).all() == []  # not before the real commit
    session.commit()
    assert [t.data["note"] for t in records(session, actor, "svc", "ticket")] == ["for SP-2"]
    assert [j.status for j in jobs(session)] == ["finished"]
