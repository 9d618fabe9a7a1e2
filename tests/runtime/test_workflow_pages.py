"""The record page's workflow: the state, only the transitions the user may take now, approve
and reject for approvers, signatures, assignments, refusals shown on the page."""

from __future__ import annotations

import re

from jizuo.platform.models import Record
from jizuo.platform.records import RecordStore
from tests import factories
from tests.platform.test_workflows import Flow

DEFECTS = [{"code": "D1", "count": 1}]


def _signed_in(app, name: str):  # noqa: ANN001, ANN201
    client = app.test_client()
    factories.login(client, name)
    return client


def _buttons(page: str) -> set[str]:
    """The transitions offered as buttons."""
    return set(re.findall(r'name="transition" value="([a-z_]+)"', page))


def _page(client, rid: int) -> str:  # noqa: ANN001
    response = client.get(f"/apps/qms/ncr/{rid}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post(client, rid: int, action: str, data: dict | None = None):  # noqa: ANN001, ANN201
    return factories.post_form(client, f"/apps/qms/ncr/{rid}/{action}", data or {},
                               page=f"/apps/qms/ncr/{rid}")  # fmt: skip


def _state(session, rid: int) -> str:  # noqa: ANN001
    session.rollback()
    return session.get(Record, rid).state


def test_each_user_sees_only_the_buttons_they_may_use(app, session):
    flow = Flow(session)
    rid = flow.ncr(defects=DEFECTS).id
    blocked = flow.ncr(qty_rejected=0).id
    ina, quinn, m1 = (_signed_in(app, n) for n in ("ina", "quinn", "m1"))
    page = _page(ina, rid)
    assert 'data-state="open"' in page and _buttons(page) == {"submit", "cancel"}
    assert _buttons(_page(m1, rid)) == set()  # QA managers may read, not change
    assert 'name="assignee"' not in _page(m1, rid)
    # The guard and the required field keep 'submit' from being offered, with the reasons.
    page = _page(ina, blocked)
    assert _buttons(page) == {"cancel"}
    assert "qty_rejected &gt; 0" in page and "required before entering" in page

    assert _post(ina, rid, "transitions/submit").status_code == 302
    assert _state(session, rid) == "review"
    page = _page(ina, rid)
    assert 'data-state="review"' in page and _buttons(page) == {"cancel"}
    assert "Propose disposition" not in page  # not hers to take: not even shown
    page = _page(quinn, rid)
    assert _buttons(page) == {"send_back", "cancel"}
    assert "Propose disposition" in page and "/disposition" not in page  # blocked, with why
    assert "required before entering &#39;disposition&#39;" in page


def test_refusals_are_shown_on_the_page_and_change_nothing(app, session):
    flow = Flow(session)
    rid = flow.ncr(defects=DEFECTS).id
    ina = _signed_in(app, "ina")
    refused = _post(ina, rid, "transitions/propose", {"comment": "mine now"})
    assert refused.status_code == 403
    body = refused.get_data(as_text=True)
    assert "may not take the transition &#39;propose&#39;" in body and "mine now" not in body
    assert _state(session, rid) == "open"
    _post(ina, rid, "transitions/submit")
    stale = _post(ina, rid, "transitions/cancel", {"version": "1"})
    assert stale.status_code == 412 and _state(session, rid) == "review"
    # Without the CSRF token nothing happens.
    assert ina.post(f"/apps/qms/ncr/{rid}/transitions/cancel").status_code == 400
    assert _state(session, rid) == "review"
    # Another workspace's record is not found.
    other = Flow(session, key="other")
    stranger = _signed_in(app, "quinn_other")
    assert stranger.get(f"/apps/qms/ncr/{rid}").status_code == 404
    assert (
        _post(stranger, other.ncr("ina", defects=DEFECTS).id, "transitions/submit").status_code
        == 302
    )
    response = stranger.post(f"/apps/qms/ncr/{rid}/transitions/cancel",
                             data={"csrf_token": factories.csrf_token(stranger, "/")})  # fmt: skip
    assert response.status_code == 404 and _state(session, rid) == "review"


def test_proposal_approvals_and_signature_through_the_pages(app, session):
    flow = Flow(session)
    rid = flow.ncr(defects=DEFECTS).id
    quinn = _signed_in(app, "quinn")
    _post(_signed_in(app, "ina"), rid, "transitions/submit")
    RecordStore(session, flow.actors["quinn"]).entity("qms", "ncr").update(
        rid, {"disposition": "rework"}, 2
    )
    session.commit()
    page = _page(quinn, rid)
    assert _buttons(page) == {"propose", "send_back", "cancel"}
    assert re.search(r'id="comment-propose" name="comment" maxlength="2000" required', page)
    no_comment = _post(quinn, rid, "transitions/propose", {"comment": ""})
    assert no_comment.status_code == 422
    assert "needs a comment" in no_comment.get_data(as_text=True)
    assert _post(quinn, rid, "transitions/propose", {"comment": "rework it"}).status_code == 302
    assert _state(session, rid) == "disposition"

    page = _page(quinn, rid)
    assert _buttons(page) == {"send_back"}  # close waits for approvals: shown with why
    assert "approvals missing: 2 of 2" in page
    m1, m2 = _signed_in(app, "m1"), _signed_in(app, "m2")
    page = _page(m1, rid)
    assert 'name="decision" value="approve"' in page and 'name="decision" value="reject"' in page
    assert _post(m1, rid, "approvals/close", {"decision": "approve"}).status_code == 302
    assert 'name="decision"' not in _page(m1, rid)  # once each
    twice = _post(m1, rid, "approvals/close", {"decision": "approve"})
    assert twice.status_code == 409 and "already decided" in twice.get_data(as_text=True)
    assert 'name="decision"' not in _page(quinn, rid)  # not an approver
    _post(m2, rid, "approvals/close", {"decision": "approve", "comment": "agreed"})

    page = _page(quinn, rid)
    assert _buttons(page) == {"close", "send_back"}
    assert 'name="signature_password" type="password"' in page
    assert '<option value="reviewed">' in page
    wrong = _post(quinn, rid, "transitions/close",
                  {"signature_password": "guess", "signature_meaning": "approved"})  # fmt: skip
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "could not be verified" in body and "guess" not in body
    assert _state(session, rid) == "disposition"
    signed = _post(quinn, rid, "transitions/close",
                   {"signature_password": factories.PASSWORD, "signature_meaning": "approved",
                    "comment": "done"})  # fmt: skip
    assert signed.status_code == 302 and _state(session, rid) == "closed"
    page = _page(quinn, rid)
    assert 'data-state="closed"' in page and _buttons(page) == set()
    assert "meaning=approved" in page and factories.PASSWORD not in page


def test_assigning_from_the_page(app, session):
    flow = Flow(session)
    rid = flow.ncr(defects=DEFECTS).id
    quinn = _signed_in(app, "quinn")
    assert (
        _post(
            quinn, rid, "assignments", {"assignee": "m1", "due_at": "2020-01-01T09:00"}
        ).status_code
        == 302
    )
    assert _post(quinn, rid, "assignments", {"assignee": "role:qa_manager"}).status_code == 302
    bad = _post(quinn, rid, "assignments", {"assignee": "nobody"})
    assert bad.status_code == 422 and "not a member" in bad.get_data(as_text=True)
    page = _page(quinn, rid)
    assert "Jan 1, 2020, 9:00:00\u202fAM" in page and "role: qa_manager" in page
    tasks = _signed_in(app, "m1").get("/api/v1/tasks").json["items"]
    assert sorted(t["assigned_to"] for t in tasks) == ["m1", "role:qa_manager"]
