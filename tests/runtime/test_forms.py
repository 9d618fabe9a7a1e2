"""Record forms rendered from metadata: every widget, create and edit through the form,
errors next to their fields, stale versions, hidden fields and the reference look-up."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources

from sqlalchemy import select

from jizuo.platform.auth import member_actor
from jizuo.platform.models import User
from jizuo.platform.records import RecordStore
from tests import factories
from tests.plant import INSPECTOR_POLICY, SECRET_COST, Plant


def _signed_in(app, name: str):  # noqa: ANN001, ANN201
    client = app.test_client()
    factories.login(client, name)
    return client


def _specimen(session, plant: Plant) -> None:  # noqa: ANN001
    factories.published(session, plant.admin, "lab", factories.EVERY_TYPE)


def _post(client, path: str, data: dict, **kwargs):  # noqa: ANN001, ANN003, ANN201
    token = factories.csrf_token(client, "/")
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def test_every_field_kind_gets_its_widget(app, session):
    plant = Plant(session)
    _specimen(session, plant)
    page = _signed_in(app, "root").get("/apps/lab/specimen/new")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    expected = [
        r'<input id="f-text" name="text" type="text" value="" maxlength="50"',
        r'<textarea id="f-long_text" name="long_text"',
        r'<input id="f-integer" name="integer" type="number" step="1"',
        r'<input id="f-decimal" name="decimal" type="number" step="0.01"',
        r'<input id="f-boolean" name="boolean" type="checkbox" value="true"',
        r'<input id="f-date" name="date" type="date"',
        r'<input id="f-datetime" name="datetime" type="datetime-local"',
        r'<select id="f-single_select" name="single_select">',
        r'<input type="checkbox" name="multi_select" value="green">',
        r'<input id="f-reference" name="reference" type="number" step="1" min="1" value="" '
        r'data-lookup="/apps/lab/specimen/lookup\?field=reference"',
        r'name="child_table.0.part" type="text"',
        r'name="child_table.2.qty" type="number"',
        r'<output id="f-child_table-0-amount" data-computed="child_table.amount"',
        r'<input id="f-attachment" name="attachment.file" type="file"',
        r'<select id="f-user" name="user"><option value="">—</option><option value="\d+">root',
        r'<input id="f-email" name="email" type="email"',
        r'<input id="f-url" name="url" type="url"',
        r'<input id="f-phone" name="phone" type="tel"',
        r'<output id="f-computed" data-computed="computed"',
        r'<output id="f-auto_number" data-computed="auto_number"',
        r'<input id="f-measurement" name="measurement" type="number" step="any" value="">'
        r' <span class="unit">mm</span>',
        r"LSL 9.9 · target 10.0 · USL 10.1",
    ]
    for pattern in expected:
        assert re.search(pattern, body), pattern
    assert 'name="child_table.3.part"' not in body  # no rows yet: three empty ones
    assert '<script type="module" src="/apps/runtime-static/runtime/form.js">' in body
    with app.test_client().get("/apps/runtime-static/runtime/form.js") as script:  # public
        assert script.status_code == 200 and b"X-CSRFToken" in script.data
    assert "style=" not in body and "<script>" not in body  # the CSP allows neither


def test_a_form_of_two_hundred_fields_renders(app, session):
    plant = Plant(session)
    kinds = [s for s in factories.EVERY_TYPE["schema"]["properties"].values()]
    properties = {}
    for i in range(200):
        schema = copy.deepcopy(kinds[i % len(kinds)])
        if "x-formula" in schema:
            schema = {"type": "number", "x-formula": "1 + 1"}
        if "x-sequence" in schema:
            schema = {"type": "string", "maxLength": 10}
        if "x-formula" in json.dumps(schema.get("items", {})):
            schema["items"]["properties"]["amount"]["x-formula"] = "qty * price"
        properties[f"f{i:03}"] = schema
    layout = {"tabs": [{"title": f"T{t}", "sections": [{"columns": [
        [f"f{i:03}" for i in range(t * 50, t * 50 + 25)],
        [f"f{i:03}" for i in range(t * 50 + 25, t * 50 + 50)],
    ]}]} for t in range(4)]}  # fmt: skip
    big = {"key": "big", "title": "Big", "schema": {"type": "object", "properties": properties},
           "layout": layout}  # fmt: skip
    factories.published(session, plant.admin, "lab", big)
    body = _signed_in(app, "root").get("/apps/lab/big/new").get_data(as_text=True)
    for i in range(200):
        assert f'data-field="f{i:03}"' in body


def test_every_shipped_entity_renders(app, session):
    ws = factories.workspace(session)
    _, admin = factories.member(session, ws, "root", ("admin",))
    demo = json.loads(
        resources.files("jizuo.templates_library").joinpath("demo_app.json").read_text()
    )
    for app_def in demo["apps"]:
        for entity in app_def["entities"]:
            factories.published(session, admin, app_def["key"], entity)
    client = _signed_in(app, "root")
    for app_def in demo["apps"]:
        for entity in app_def["entities"]:
            page = client.get(f"/apps/{app_def['key']}/{entity['key']}/new")
            assert page.status_code == 200, entity["key"]
            for key in entity["schema"]["properties"]:
                assert f'data-field="{key}"' in page.get_data(as_text=True), key


def test_create_converts_form_text_to_typed_values(app, session):
    plant = Plant(session)
    _specimen(session, plant)
    root = session.scalar(select(User.id).where(User.username == "root"))
    session.rollback()  # end the read, so the test sees what the request commits
    client = _signed_in(app, "root")
    form = {
        "text": "Hello",
        "long_text": "two\nlines",
        "integer": "3",
        "decimal": "2,5",
        "boolean": ["", "true"],
        "date": "2024-05-01",
        "datetime": "2024-05-01T08:30",
        "single_select": "b",
        "multi_select": ["", "red", "blue"],
        "reference": str(plant.s1),
        "child_table._present": "1",
        "child_table.0.part": "P-1",
        "child_table.0.qty": "2",
        "child_table.0.price": "1.5",
        "child_table.1.part": "",
        "child_table.1.qty": "",
        "child_table.1.price": "",
        "user": str(root),
        "email": "a@b.cn",
        "url": "https://example.com",
        "phone": "+86 21 1234 5678",
        "measurement": "10.05",
    }
    response = _post(client, "/apps/lab/specimen/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    rid = int(response.headers["Location"].rsplit("/", 1)[1])
    assert response.headers["Location"].endswith(f"/apps/lab/specimen/{rid}")
    data = RecordStore(session, plant.admin).entity("lab", "specimen").get(rid).data
    assert data["integer"] == 3 and data["decimal"] == 2.5 and data["boolean"] is True
    assert data["multi_select"] == ["red", "blue"] and data["reference"] == plant.s1
    assert data["child_table"] == [{"part": "P-1", "qty": 2, "price": 1.5, "amount": 3.0}]
    assert data["computed"] == 7.5 and data["auto_number"] == "SP-0001"
    assert data["datetime"] == "2024-05-01T08:30:00" and data["user"] == root
    assert data["long_text"] == "two\nlines" and data["measurement"] == 10.05


def test_errors_are_shown_next_to_their_fields_and_the_input_is_kept(app, session):
    plant = Plant(session)
    client = _signed_in(app, "root")
    form = {"lot_no": "L-KEEP", "source": "customer", "qty_rejected": "many",
            "unit_cost": "2.5"}  # fmt: skip
    response = _post(client, "/apps/qms/ncr/new", form)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "&#39;many&#39; is not a whole number" in body
    assert 'value="L-KEEP"' in body and 'value="many"' in body
    assert re.search(r'data-field="qty_rejected"[^>]*>.*?is not a whole number', body, re.S)
    # Typed correctly, the rules speak: the complaint is required for customer NCRs and
    # shown (its visible_if holds), and more defects than rejected parts is refused.
    form.update(
        {
            "qty_rejected": "1",
            "defects._present": "1",
            "defects.0.code": "D1",
            "defects.0.count": "5",
        }
    )
    response = _post(client, "/apps/qms/ncr/new", form)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    complaint = re.search(
        r'<div class="field[^"]*" data-field="complaint"[^>]*>.*?</div>', body, re.S
    )
    assert complaint and "hidden" not in complaint.group(0).split(">")[0]
    assert "this field is required" in complaint.group(0)
    assert "More defects than rejected parts" in body and 'value="D1"' in body
    assert RecordStore(session, plant.admin).entity("qms", "ncr").list().items.__len__() == 0


def test_a_field_hidden_by_its_rule_is_not_required_and_not_saved(app, session):
    plant = Plant(session)
    client = _signed_in(app, "root")
    page = client.get("/apps/qms/ncr/new").get_data(as_text=True)
    assert re.search(r'data-field="complaint" data-kind="text" hidden', page)
    form = {"lot_no": "L-1", "source": "iqc", "qty_rejected": "1", "complaint": "loud"}
    response = _post(client, "/apps/qms/ncr/new", form)
    assert response.status_code == 302
    rid = int(response.headers["Location"].rsplit("/", 1)[1])
    data = RecordStore(session, plant.admin).entity("qms", "ncr").get(rid).data
    assert "complaint" not in data and data["lot_no"] == "L-1"


def test_edit_saves_changes_with_the_version_and_reports_a_stale_one(app, session):
    plant = Plant(session)
    rid = plant.ncr(lot_no="OLD", unit_cost=2.0, qty_rejected=2)
    client = _signed_in(app, "root")
    page = client.get(f"/apps/qms/ncr/{rid}/edit").get_data(as_text=True)
    assert 'name="version" value="1"' in page and 'value="OLD"' in page
    assert f'href="/apps/qms/ncr/{rid}/edit"' in client.get(f"/apps/qms/ncr/{rid}").get_data(
        as_text=True
    )
    form = {"version": "1", "lot_no": "NEW", "source": "iqc", "qty_rejected": "3",
            "unit_cost": "2", "supplier": "", "disposition": ""}  # fmt: skip
    response = _post(client, f"/apps/qms/ncr/{rid}/edit", form)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{rid}")
    session.rollback()
    record = RecordStore(session, plant.admin).entity("qms", "ncr").get(rid)
    assert record.version == 2 and record.data["lot_no"] == "NEW" and record.data["cost"] == 6
    assert record.data["unit_cost"] == 2.0  # unchanged text leaves the stored value alone

    # Someone else saves in between: nothing is saved, who and when are shown, input kept.
    form.update({"lot_no": "MINE"})
    response = _post(client, f"/apps/qms/ncr/{rid}/edit", form)
    body = response.get_data(as_text=True)
    assert response.status_code == 412
    assert "changed by root" in body and 'value="MINE"' in body
    assert f'href="/apps/qms/ncr/{rid}/edit"' in body
    session.rollback()
    assert RecordStore(session, plant.admin).entity("qms", "ncr").get(rid).data["lot_no"] == "NEW"


def test_hidden_fields_are_never_rendered_nor_accepted(app, session):
    plant = Plant(session)
    plant.policy("qms", {"entities": {"ncr": INSPECTOR_POLICY["entities"]["ncr"]}})
    plant.policy("erp", {"entities": {"supplier": INSPECTOR_POLICY["entities"]["supplier"]}})
    plant.person("ina", ("inspector",))
    client = _signed_in(app, "ina")
    page = client.get("/apps/qms/ncr/new").get_data(as_text=True)
    assert "unit_cost" not in page and 'data-field="cost"' not in page
    assert re.search(r'data-field="disposition".*?read only', page, re.S)
    form = {"lot_no": "INA-1", "source": "iqc", "qty_rejected": "1",
            "unit_cost": "5", "disposition": "scrap"}  # fmt: skip
    response = _post(client, "/apps/qms/ncr/new", form)
    assert response.status_code == 302
    rid = int(response.headers["Location"].rsplit("/", 1)[1])
    data = RecordStore(session, plant.admin).entity("qms", "ncr").get(rid).data
    assert "unit_cost" not in data and "disposition" not in data
    RecordStore(session, plant.admin).entity("qms", "ncr").update(
        rid, {"unit_cost": SECRET_COST}, 1
    )
    session.commit()
    edit = client.get(f"/apps/qms/ncr/{rid}/edit").get_data(as_text=True)
    assert str(SECRET_COST) not in edit and "unit_cost" not in edit
    response = _post(client, f"/apps/qms/ncr/{rid}/edit", {**form, "version": "2", "lot_no": "X"})
    assert response.status_code == 302
    session.rollback()
    data = RecordStore(session, plant.admin).entity("qms", "ncr").get(rid).data
    assert data["unit_cost"] == SECRET_COST and data["lot_no"] == "X"


def test_the_forms_need_the_right_to_create_or_update(app, session):
    plant = Plant(session)
    plant.policy("qms", {"entities": {"ncr": {"visitor": {"actions": ["read"]}}}})
    plant.person("vic", ("visitor",))
    rid = plant.ncr()
    client = _signed_in(app, "vic")
    assert client.get("/apps/qms/ncr/new").status_code == 403
    assert client.get(f"/apps/qms/ncr/{rid}/edit").status_code == 403
    assert 'href="/apps/qms/ncr/{rid}/edit"' not in client.get(f"/apps/qms/ncr/{rid}").get_data(
        as_text=True
    )
    response = _post(client, "/apps/qms/ncr/new", {"lot_no": "V", "source": "iqc",
                                                  "qty_rejected": "1"})  # fmt: skip
    assert response.status_code == 403


def test_the_reference_lookup_is_scoped_by_permissions(app, session):
    plant = Plant(session)
    root = _signed_in(app, "root")
    found = root.get("/apps/qms/ncr/lookup?field=supplier&q=acm").json
    assert found == {"items": [{"id": plant.s1, "label": "Acme"}]}
    assert len(root.get("/apps/qms/ncr/lookup?field=supplier&q=").json["items"]) == 2
    assert root.get(f"/apps/qms/ncr/lookup?field=supplier&q={plant.s2}").json["items"] == [
        {"id": plant.s2, "label": "Bolt"}
    ]
    assert root.get("/apps/qms/ncr/lookup?field=lot_no&q=a").status_code == 400
    # Suppliers limited to Acme for this role: Bolt is never offered.
    plant.policy(
        "erp", {"entities": {"supplier": {"inspector": {"actions": ["read"],
                                                        "scope": f"record.id == {plant.s1}"}}}}
    )  # fmt: skip
    plant.policy("qms", {"entities": {"ncr": {"inspector": {"actions": ["read", "create"]}}}})
    plant.person("ina", ("inspector",))
    ina = _signed_in(app, "ina")
    assert ina.get("/apps/qms/ncr/lookup?field=supplier&q=").json["items"] == [
        {"id": plant.s1, "label": "Acme"}
    ]
    assert ina.get("/apps/qms/ncr/lookup?field=supplier&q=bol").json["items"] == []
    # Another workspace's users see nothing of this one.
    other = factories.workspace(session, "other")
    factories.member(session, other, "olga", ("admin",))
    session.commit()
    olga = _signed_in(app, "olga")
    assert olga.get("/apps/qms/ncr/lookup?field=supplier&q=").status_code == 404


def test_a_member_picks_users_of_their_workspace_only(app, session):
    plant = Plant(session)
    _specimen(session, plant)
    other = factories.workspace(session, "other")
    factories.member(session, other, "stranger", ("admin",))
    session.commit()
    body = _signed_in(app, "root").get("/apps/lab/specimen/new").get_data(as_text=True)
    assert ">root</option>" in body and "stranger" not in body


def test_an_attachment_is_uploaded_with_the_form(app, session):
    import io

    plant = Plant(session)
    _specimen(session, plant)
    client = _signed_in(app, "root")
    response = _post(
        client,
        "/apps/lab/specimen/new",
        {"attachment": "", "attachment.file": (io.BytesIO(b"report"), "report.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    rid = int(response.headers["Location"].rsplit("/", 1)[1])
    data = RecordStore(session, plant.admin).entity("lab", "specimen").get(rid).data
    assert isinstance(data["attachment"], int)
    edit = client.get(f"/apps/lab/specimen/{rid}/edit").get_data(as_text=True)
    assert "report.pdf" in edit
    actor = member_actor(session, plant.admin_user.id, plant.ws.id)
    assert actor is not None


def test_a_file_chosen_in_a_refused_form_is_kept(app, session):
    import io

    plant = Plant(session)
    _specimen(session, plant)
    client = _signed_in(app, "root")
    refused = _post(
        client,
        "/apps/lab/specimen/new",
        {
            "integer": "many",
            "attachment": "",
            "attachment.file": (io.BytesIO(b"report"), "kept.pdf"),
        },
        content_type="multipart/form-data",
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    kept = re.search(
        r'<input type="checkbox" name="attachment" value="(\d+)" checked> kept\.pdf', body
    )
    assert kept, body
    # Sent again with the number fixed, the kept file is saved without choosing it again.
    response = _post(
        client,
        "/apps/lab/specimen/new",
        {"integer": "3", "attachment": ["", kept.group(1)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    rid = int(response.headers["Location"].rsplit("/", 1)[1])
    data = RecordStore(session, plant.admin).entity("lab", "specimen").get(rid).data
    assert data["attachment"] == int(kept.group(1)) and data["integer"] == 3
