"""Webhooks: outbound calls retried until answered (effects once, signed, idempotency key),
inbound calls that start an automation only with a valid signature."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from jizuo.platform.models import ActionReceipt, Job, User, Workspace
from jizuo.platform.webhooks import sign, verify
from tests import factories
from tests.automation_support import automate, create, jobs, plant, records

SECRET = "s3cret-shared-with-the-erp"


class Receiver:
    """A local HTTP endpoint answering 500 to the first ``failures`` calls, then 200."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append({"headers": dict(self.headers), "body": body})
                status = 500 if len(receiver.calls) <= receiver.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=2)
    yield r
    r.close()


@pytest.fixture
def acme(app, session):  # noqa: ANN001, ANN201
    app.config["WEBHOOK_SECRETS"] = {"erp": SECRET}
    app.config["JOB_INPROCESS_RETRY_SECONDS"] = 0
    return plant(session)


def _outbound(url: str) -> dict:
    return {
        "trigger": {"on": "created", "entity": "sales.order"},
        "actions": [
            {"type": "create_record", "entity": "svc.ticket", "values": {"note": "'before'"}},
            {
                "type": "webhook",
                "url": url,
                "secret": "erp",
                "timeout": 5,
                "body": {"order": "{{ record.id }}", "text": "Order {{ record.number }}", "n": 2},
            },
            {"type": "create_record", "entity": "svc.ticket", "values": {"note": "'after'"}},
        ],
    }


def test_an_outbound_webhook_is_retried_until_answered_and_acts_once(session, acme, receiver):
    _, actor = acme
    automate(session, actor, "tell_erp", _outbound(receiver.url))
    order_id = create(session, actor, "sales", "order", {"number": "SO-1"})
    [run] = jobs(session)
    assert run.status == "finished" and run.attempts == 3, (run.status, run.error)
    assert len(receiver.calls) == 3
    keys = {call["headers"]["Idempotency-Key"] for call in receiver.calls}
    assert keys == {f"auto:{run.args['definition_id']}:v1:{actor.workspace_id}:"
                    f"{run.args['event']['seq']}:1"}  # fmt: skip
    last = receiver.calls[-1]
    assert json.loads(last["body"]) == {"order": order_id, "text": "Order SO-1", "n": 2}
    assert verify(SECRET, last["body"], last["headers"]["X-Jizuo-Signature"])
    assert not verify("another secret", last["body"], last["headers"]["X-Jizuo-Signature"])
    notes = sorted(t.data["note"] for t in records(session, actor, "svc", "ticket"))
    assert notes == ["after", "before"]  # each once, although the job ran three times
    assert session.scalar(select(func.count()).select_from(ActionReceipt)) == 3


def test_an_outbound_webhook_that_never_answers_fails_the_job(app, session, acme):
    _, actor = acme
    dead = Receiver(failures=100)
    try:
        automate(session, actor, "tell_erp", _outbound(dead.url))
        create(session, actor, "sales", "order", {"number": "SO-2"})
    finally:
        dead.close()
    [run] = jobs(session)
    assert run.status == "failed" and "answered 500" in run.error
    assert [t.data["note"] for t in records(session, actor, "svc", "ticket")] == ["before"]


# -- inbound --------------------------------------------------------------------------

INBOUND = {
    "trigger": {"on": "webhook"},
    "condition": "payload.kind == 'complaint'",
    "actions": [
        {
            "type": "create_record",
            "entity": "svc.ticket",
            "values": {"note": "payload.text", "source": "'webhook'"},
        }
    ],
}


@pytest.fixture
def hook(session, acme, client):  # noqa: ANN001, ANN201
    ws, actor = acme
    automate(session, actor, "from_crm", INBOUND, app="svc")
    user = session.get(User, actor.user_id)
    token = factories.token(session, session.get(Workspace, ws.id), user)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    base = "/api/v1/apps/svc/automations/from_crm/webhook"
    assert client.get(base, headers=headers).status_code == 404  # none issued yet
    issued = client.post(base, headers=headers)
    assert issued.status_code == 201
    shown = client.get(base, headers=headers).json
    assert shown["url"] == issued.json["url"] and "secret" not in shown
    unsigned = client.post(issued.json["url"], data=b"{}", content_type="application/json")
    assert unsigned.status_code == 401  # no CSRF token needed, but a signature is
    return issued.json, actor


def _post(client, url: str, payload: dict, secret: str | None, **headers):  # noqa: ANN001, ANN003, ANN202
    raw = json.dumps(payload).encode()
    if secret is not None:
        headers["X-Jizuo-Signature"] = sign(secret, raw)
    return client.post(url, data=raw, headers=headers, content_type="application/json")


def test_an_inbound_webhook_needs_a_valid_signature(session, hook, client):
    issued, actor = hook
    payload = {"kind": "complaint", "text": "scratched housing"}
    for secret in (None, "wrong secret"):
        refused = _post(client, issued["url"], payload, secret)
        assert refused.status_code == 401, refused.data
    tampered = json.dumps(payload).encode()
    bad = client.post(
        issued["url"],
        data=tampered + b" ",
        headers={"X-Jizuo-Signature": sign(issued["secret"], tampered)},
        content_type="application/json",
    )
    assert bad.status_code == 401
    assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert records(session, actor, "svc", "ticket") == []
    assert _post(client, "/hooks/unknown-token", payload, issued["secret"]).status_code == 404
    for raw in (b"not json", json.dumps({"kind": "complaint", "text": "a\u0000b"}).encode()):
        signed = {"X-Jizuo-Signature": sign(issued["secret"], raw)}
        assert client.post(issued["url"], data=raw, headers=signed).status_code == 400
    assert session.scalar(select(func.count()).select_from(Job)) == 0

    accepted = _post(client, issued["url"], payload, issued["secret"], **{"Idempotency-Key": "c-1"})
    assert accepted.status_code == 202, accepted.data
    [ticket] = records(session, actor, "svc", "ticket")
    assert ticket.data == {"note": "scratched housing", "source": "webhook"}
    again = _post(client, issued["url"], payload, issued["secret"], **{"Idempotency-Key": "c-1"})
    assert again.status_code == 202 and again.json["job"] == accepted.json["job"]
    other = _post(client, issued["url"], {"kind": "praise", "text": "x"}, issued["secret"])
    assert other.status_code == 202
    assert len(records(session, actor, "svc", "ticket")) == 1  # condition false for praise


def test_a_reissued_secret_replaces_the_old_one(session, hook, client):
    issued, actor = hook
    ws_token = session.scalar(select(User).where(User.id == actor.user_id))
    assert ws_token is not None
    from jizuo.platform.models import Definition
    from jizuo.platform.webhooks import issue_secret

    definition = session.scalar(select(Definition).where(Definition.key == "from_crm"))
    token, secret = issue_secret(session, definition)
    session.commit()
    payload = {"kind": "complaint", "text": "dent"}
    assert _post(client, issued["url"], payload, issued["secret"]).status_code == 404
    assert _post(client, f"/hooks/{token}", payload, issued["secret"]).status_code == 401
    assert _post(client, f"/hooks/{token}", payload, secret).status_code == 202
    assert len(records(session, actor, "svc", "ticket")) == 1


@pytest.mark.redis
def test_an_outbound_webhook_is_retried_by_rq_until_answered(app, session, acme, receiver):
    from tests.automation_support import use_rq
    from tests.conftest import REDIS_URL

    _, actor = acme
    work = use_rq(app, REDIS_URL)
    automate(session, actor, "tell_erp", _outbound(receiver.url))
    create(session, actor, "sales", "order", {"number": "SO-3"})
    work(session)
    [run] = jobs(session)
    assert run.status == "finished" and run.attempts == 3, (run.status, run.error)
    assert len(receiver.calls) == 3
    assert len({c["headers"]["Idempotency-Key"] for c in receiver.calls}) == 1
    assert sorted(t.data["note"] for t in records(session, actor, "svc", "ticket")) == [
        "after",
        "before",
    ]
