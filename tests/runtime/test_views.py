"""The runtime's pages show only what the signed-in user may see."""

from __future__ import annotations

from sqlalchemy import select

from jizuo.platform.auth import add_member, member_actor
from jizuo.platform.models import User
from jizuo.platform.records import RecordStore
from tests import factories
from tests.plant import INSPECTOR_POLICY, SECRET_COST, Plant


def _signed_in(app, name: str):  # noqa: ANN001, ANN201
    client = app.test_client()
    factories.login(client, name)
    return client


def test_admin_sees_the_list_the_record_and_its_history(app, session):
    plant = Plant(session)
    rid = plant.ncr(supplier=plant.s1, unit_cost=SECRET_COST, lot_no="LOT-7")
    client = _signed_in(app, "root")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/apps/qms/"' in home
    assert "/apps/qms/ncr/" in client.get("/apps/qms/").get_data(as_text=True)
    listing = client.get("/apps/qms/ncr/").get_data(as_text=True)
    assert "LOT-7" in listing and f"/apps/qms/ncr/{rid}" in listing
    assert f'<a href="/apps/erp/supplier/{plant.s1}">Acme</a>' in listing  # resolved reference
    page = client.get(f"/apps/qms/ncr/{rid}").get_data(as_text=True)
    assert str(SECRET_COST) in page and "LOT-7" in page and "create" in page


def test_hidden_fields_appear_nowhere_in_the_pages(app, session):
    plant = Plant(session)
    plant.policy("qms", {"entities": {"ncr": INSPECTOR_POLICY["entities"]["ncr"]}})
    plant.policy("erp", {"entities": {"supplier": INSPECTOR_POLICY["entities"]["supplier"]}})
    plant.person("ina", ("inspector",))
    client = _signed_in(app, "ina")
    ina = session.scalar(select(User).where(User.username == "ina"))
    mine = RecordStore(session, member_actor(session, ina.id, plant.ws.id)).entity("qms", "ncr")
    rid = mine.create({"lot_no": "MINE-1", "source": "iqc", "qty_rejected": 2}).id
    session.commit()
    RecordStore(session, plant.admin).entity("qms", "ncr").update(
        rid, {"unit_cost": SECRET_COST}, 1
    )
    session.commit()
    others = plant.ncr(lot_no="NOT-YOURS")
    for path in ("/apps/qms/ncr/", f"/apps/qms/ncr/{rid}", "/apps/qms/ncr/?order_by=-id"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "MINE-1" in body
        assert str(SECRET_COST) not in body and "unit_cost" not in body, path
        assert "NOT-YOURS" not in body, path
    assert client.get(f"/apps/qms/ncr/{others}").status_code == 404
    assert client.get("/apps/qms/ncr/?unit_cost__gte=0").status_code == 400


def test_an_entity_the_user_may_not_read_is_not_offered(app, session):
    plant = Plant(session)
    plant.person("vic", ("visitor",))
    client = _signed_in(app, "vic")
    assert "/apps/qms/ncr/" not in client.get("/apps/qms/").get_data(as_text=True)
    assert client.get("/apps/qms/ncr/").status_code == 403


def test_a_reference_the_user_may_not_read_shows_only_its_id(app, session):
    plant = Plant(session)
    plant.policy("qms", {"entities": {"ncr": {"visitor": {"actions": ["read"]}}}})
    user, _ = factories.member(session, plant.ws, "vic", ("visitor",))
    add_member(session, user, plant.ws, ["visitor"])
    session.commit()
    rid = plant.ncr(supplier=plant.s1)
    page = _signed_in(app, "vic").get(f"/apps/qms/ncr/{rid}").get_data(as_text=True)
    assert f"#{plant.s1}" in page and "Acme" not in page


def test_a_record_page_lists_where_it_is_used_as_far_as_the_viewer_may_read(app, session):
    plant = Plant(session)
    plant.policy("qms", {"entities": {"ncr": INSPECTOR_POLICY["entities"]["ncr"]}})
    plant.policy("erp", {"entities": {"supplier": INSPECTOR_POLICY["entities"]["supplier"]}})
    plant.person("ivy", ("inspector",))
    theirs = plant.ncr(supplier=plant.s1, lot_no="L-ROOT")
    ivy = member_actor(session, session.scalar(select(User.id).where(User.username == "ivy")),
                       plant.ws.id)  # fmt: skip
    own = (
        RecordStore(session, ivy)
        .entity("qms", "ncr")
        .create({"lot_no": "L-IVY", "source": "iqc", "qty_rejected": 1, "supplier": plant.s1})
    )
    session.commit()
    plant.ncr(supplier=plant.s2, lot_no="L-OTHER")

    page = _signed_in(app, "root").get(f"/apps/erp/supplier/{plant.s1}").get_data(as_text=True)
    used = page.split("Where used", 1)[1].split("</section>", 1)[0]
    assert "Nonconformance report · supplier" in used
    assert f'href="/apps/qms/ncr/{theirs}"' in used and f'href="/apps/qms/ncr/{own.id}"' in used
    assert "L-OTHER" not in page
    # The inspector's row scope shows their own NCR only.
    page = _signed_in(app, "ivy").get(f"/apps/erp/supplier/{plant.s1}").get_data(as_text=True)
    assert f'href="/apps/qms/ncr/{own.id}"' in page
    assert f'href="/apps/qms/ncr/{theirs}"' not in page


def test_files_people_and_options_are_shown_by_name(app, session):
    import io

    plant = Plant(session)
    factories.published(session, plant.admin, "lab", factories.EVERY_TYPE)
    client = _signed_in(app, "root")
    token = factories.csrf_token(client, "/")
    upload = client.post(
        "/api/v1/attachments",
        data={"file": (io.BytesIO(b"x"), "drawing.pdf")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_data(as_text=True)
    record = (
        RecordStore(session, plant.admin)
        .entity("lab", "specimen")
        .create(
            {
                "attachment": upload.get_json()["id"],
                "user": plant.admin_user.id,
                "multi_select": ["red", "blue"],
            }  # fmt: skip
        )
    )
    session.commit()
    page = client.get(f"/apps/lab/specimen/{record.id}").get_data(as_text=True)
    assert (
        f'<a href="/api/v1/attachments/{upload.get_json()["id"]}/content">drawing.pdf</a>' in page
    )
    assert f"<dd>{plant.admin_user.display_name}</dd>" in page
    assert "<dd>red, blue</dd>" in page
