"""Apps in the designer: create, rename, icon and colour, the launcher, and deletion after a
preview and a typed confirmation — refused while other apps refer to the app's records."""

from __future__ import annotations

from sqlalchemy import func, select

from jizuo.platform.models import AdminEvent, App, Entity, Record


def test_create_rename_and_restyle_an_app_are_logged(shop, session):
    made = shop.dee("POST", "/apps", {"key": "mes", "title": {"en": "MES", "zh": "制造执行"},
                                      "icon": "factory", "color": "#3366ff"})  # fmt: skip
    assert made.status_code == 201 and made.json["icon"] == "factory"
    changed = shop.dee("PATCH", "/apps/mes", {"title": {"en": "Shop floor", "zh": "车间"},
                                              "color": "#00aa55"})  # fmt: skip
    assert changed.status_code == 200 and changed.json["title"]["zh"] == "车间"
    launcher = {a["key"]: a for a in shop.dee("GET", "/apps").json["items"]}
    assert launcher["mes"]["color"] == "#00aa55" and launcher["qms"]["entities"] == 1
    bad = shop.dee("PATCH", "/apps/mes", {"icon": "<script>", "color": "blue", "key": "x"})
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json["errors"]} == {"/key"}
    bad = shop.dee("PATCH", "/apps/mes", {"icon": "<script>", "color": "blue"})
    assert {e["path"] for e in bad.json["errors"]} == {"/icon", "/color"}
    session.expire_all()
    actions = list(session.scalars(select(AdminEvent.action).order_by(AdminEvent.id)))
    assert actions[-2:] == ["app.create", "app.update"]
    assert shop.max("POST", "/apps", {"key": "x", "title": "X"}).status_code == 403


def test_deleting_needs_the_key_typed_back_and_removes_everything(shop, session):
    preview = shop.dee("GET", "/apps/qms/deletion").json
    assert preview["entities"] == 1 and preview["records"] == 3
    assert preview["referenced_from"] == []
    wrong = shop.dee("DELETE", "/apps/qms?confirm=QMS")
    assert wrong.status_code == 422 and wrong.json["errors"][0]["path"] == "/confirm"
    assert shop.max("DELETE", "/apps/qms?confirm=qms").status_code == 403
    assert shop.bea("DELETE", "/apps/qms?confirm=qms").status_code == 404
    done = shop.dee("DELETE", "/apps/qms?confirm=qms")
    assert done.status_code == 200 and done.json["records"] == 3
    session.expire_all()
    assert session.scalar(select(App.id).where(App.key == "qms")) is None
    assert session.scalar(select(func.count()).select_from(Record)) == 2  # the suppliers
    assert session.scalar(select(func.count()).select_from(Entity)) == 1
    assert session.scalar(select(AdminEvent.action).order_by(AdminEvent.id.desc())) == "app.delete"


def test_an_app_whose_records_are_referenced_elsewhere_is_not_deleted(shop, session):
    preview = shop.dee("GET", "/apps/erp/deletion").json
    assert len(preview["referenced_from"]) == 3
    assert preview["referenced_from"][0]["entity"] == "qms.ncr"
    refused = shop.dee("DELETE", "/apps/erp?confirm=erp")
    assert refused.status_code == 409 and len(refused.json["errors"]) == 3
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Record)) == 5
