"""Export an app to one file and import it elsewhere: conflicts reported, rename or replace,
records with their references re-pointed, hostile files refused with nothing changed."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from jizuo.designer.transfer import export_app, import_app
from jizuo.platform.errors import Conflict, IncompatibleChange, ValidationFailed
from jizuo.platform.models import App, Record
from jizuo.platform.records import RecordStore


def _count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_an_app_with_its_records_moves_to_another_workspace(shop, session):
    document = export_app(session, shop.admin, "erp", records=True)
    assert document["format"] == "jizuo-app" and len(document["records"]["supplier"]) == 2
    dry = import_app(session, shop.other_admin, copy.deepcopy(document), dry_run=True)
    assert dry["conflicts"] == [] and dry["records"] == 2
    report = import_app(session, shop.other_admin, copy.deepcopy(document))
    assert report["imported_records"] == 2
    session.commit()
    names = [r.data["name"] for r in RecordStore(session, shop.other_admin)
             .entity("erp", "supplier").list().items]  # fmt: skip
    assert sorted(names) == ["Acme", "Bolt"]


def test_references_between_records_are_re_pointed(shop, session):
    import_app(session, shop.other_admin, export_app(session, shop.admin, "erp", records=True))
    # qms refers to erp records, which the file does not hold: reported, and refused.
    qms = export_app(session, shop.admin, "qms", records=True)
    dry = import_app(session, shop.other_admin, copy.deepcopy(qms), dry_run=True)
    assert {c["code"] for c in dry["conflicts"]} == {"external_record"}
    with pytest.raises(ValidationFailed):
        import_app(session, shop.other_admin, copy.deepcopy(qms))
    session.rollback()
    # Within one app the references follow the records to their new ids.
    both = copy.deepcopy(qms)
    both["entities"].append(
        {"key": "supplier", "published": _supplier(session, shop), "draft": None}
    )
    both["records"]["supplier"] = export_app(session, shop.admin, "erp", records=True)["records"][
        "supplier"
    ]
    for ncr in both["entities"][0]["published"]["schema"]["properties"].values():
        if ncr.get("x-ref") == "erp.supplier":
            ncr["x-ref"] = "qms.supplier"
    for row in both["records"]["ncr"]:
        row["data"]["supplier"]["$record"] = row["data"]["supplier"]["$record"].replace(
            "erp.", "qms."
        )
    report = import_app(session, shop.other_admin, both, app_key="plant")
    assert report["imported_records"] == 5 and report["app"] == "plant"
    session.commit()
    store = RecordStore(session, shop.other_admin)
    ncrs = store.entity("plant", "ncr").list().items
    suppliers = {r.id: r.data["name"] for r in store.entity("plant", "supplier").list().items}
    assert sorted(suppliers[n.data["supplier"]] for n in ncrs) == ["Acme", "Acme", "Bolt"]
    assert sorted(n.data["number"] for n in ncrs) == sorted(
        r["data"]["number"] for r in qms["records"]["ncr"]
    )


def _supplier(session, shop):
    return export_app(session, shop.admin, "erp")["entities"][0]["published"]


def test_an_existing_key_is_a_conflict_to_rename_or_replace(shop, session):
    document = export_app(session, shop.admin, "qms")
    dry = import_app(session, shop.admin, copy.deepcopy(document), dry_run=True)
    assert [c["code"] for c in dry["conflicts"]] == ["app_exists", "entity_exists"]
    with pytest.raises(Conflict):
        import_app(session, shop.admin, copy.deepcopy(document))
    session.rollback()
    renamed = import_app(session, shop.admin, copy.deepcopy(document), on_conflict="rename")
    assert renamed["app"] == "qms_2"
    session.commit()
    assert session.scalar(select(App.title).where(App.key == "qms_2")) == document["app"]["title"]


def test_a_replace_that_would_break_records_is_refused_with_the_report(shop, session):
    document = export_app(session, shop.admin, "qms")
    schema = document["entities"][0]["published"]["schema"]
    schema["properties"]["plant"] = {"type": "string"}
    schema["required"].append("plant")
    before = _count(session, Record)
    with pytest.raises(IncompatibleChange) as caught:
        import_app(session, shop.admin, copy.deepcopy(document), on_conflict="replace")
    session.rollback()
    assert caught.value.extra["report"]["issues"][0]["count"] == 3
    assert _count(session, Record) == before
    schema["required"].remove("plant")
    import_app(session, shop.admin, copy.deepcopy(document), on_conflict="replace")
    session.commit()
    versions = shop.root.client.get("/api/v1/apps/qms/entities/ncr/versions",
                                    headers=shop.root.headers).json["items"]  # fmt: skip
    assert [v["version"] for v in versions] == [2, 1]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], "/document"),
        ({"format": "zip"}, "/document"),
        ({"format": "jizuo-app", "format_version": 1, "app": {"key": "A!", "title": "x"},
          "entities": []}, "/document/app/key"),
        ({"format": "jizuo-app", "format_version": 1, "app": {"key": "a", "title": "x"},
          "entities": [{"key": "e", "published": {"key": "e"}}]}, "/schema"),
    ],
)  # fmt: skip
def test_malformed_files_are_refused_and_change_nothing(shop, session, document, path):
    before = _count(session, App)
    with pytest.raises(ValidationFailed) as caught:
        import_app(session, shop.admin, document)
    session.rollback()
    assert any(e["path"].startswith(path) or e["path"] == "" for e in caught.value.errors)
    assert _count(session, App) == before


def test_export_and_import_through_the_api(shop):
    exported = shop.dee("GET", "/apps/erp/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert "records" not in exported.json
    assert shop.dee("GET", "/apps/erp/export?records=true").status_code == 403
    body = {"document": exported.json, "dry_run": True}
    dry = shop.bea("POST", "/imports", body)
    assert dry.status_code == 200 and dry.json["conflicts"] == []
    done = shop.bea("POST", "/imports", {**body, "dry_run": False})
    assert done.status_code == 201, done.json
    again = shop.bea("POST", "/imports", {**body, "dry_run": False})
    assert again.status_code == 409 and again.json["errors"][0]["path"] == "/app/key"
    hostile = shop.bea("POST", "/imports", {"document": {"format": "jizuo-app", "x": "y" * 10}})
    assert hostile.status_code == 422


def test_the_command_line_exports_and_imports(shop, app, tmp_path):
    from jizuo.cli import main

    runner = app.test_cli_runner()
    path = tmp_path / "erp.json"
    out = runner.invoke(main, ["app", "export", "erp", "-o", str(path), "--workspace", "acme",
                               "--records"], obj={"app": app})  # fmt: skip
    assert out.exit_code == 0, out.output
    dry = runner.invoke(main, ["app", "import", str(path), "--workspace", "beta", "--dry-run"],
                        obj={"app": app})  # fmt: skip
    assert dry.exit_code == 0 and "would be imported" in dry.output
    done = runner.invoke(
        main, ["app", "import", str(path), "--workspace", "beta"], obj={"app": app}
    )
    assert done.exit_code == 0, done.output
    again = runner.invoke(
        main, ["app", "import", str(path), "--workspace", "beta"], obj={"app": app}
    )
    assert again.exit_code == 1 and "on_conflict" in again.output
    renamed = runner.invoke(main, ["app", "import", str(path), "--workspace", "beta",
                                   "--on-conflict", "rename"], obj={"app": app})  # fmt: skip
    assert renamed.exit_code == 0 and "erp_2" in renamed.output
