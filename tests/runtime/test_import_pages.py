"""The import pages: upload, mapping, check, import and progress; the list's Import button;
and the round trip of the list's CSV export through an import."""

from __future__ import annotations

import io
import json
import re

import pytest

from jizuo.platform.models import Job
from jizuo.platform.records import RecordStore
from tests import factories
from tests.platform.import_support import GOOD_CODES, MIXED, Shop, csv_bytes, part_copy

LIST = "/apps/erp/part/"
UPLOAD = "/apps/erp/part/import"


@pytest.fixture
def shop(session, client):  # noqa: ANN001, ANN201
    return Shop(session, client)


def _signed_in(app, name: str = "root"):  # noqa: ANN001, ANN201
    client = app.test_client()
    factories.login(client, name)
    return client


def _upload(client, content: bytes, filename: str = "parts.csv"):  # noqa: ANN001, ANN201
    token = factories.csrf_token(client, UPLOAD)
    return client.post(
        UPLOAD,
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def _selected(body: str, index: int) -> str | None:
    """The field chosen in the select of column ``index`` on the mapping page."""
    select = re.search(rf'<select id="column-{index}".*?</select>', body, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return found.group(1) if found else None


def test_upload_map_check_and_import_valid_rows(app, shop):
    client = _signed_in(app)
    body = client.get(LIST).get_data(as_text=True)
    assert f'href="{UPLOAD}"' in body  # the list's Import button
    r = _upload(client, csv_bytes(MIXED))
    assert r.status_code == 302
    mapping_url = r.headers["Location"]
    page = client.get(mapping_url).get_data(as_text=True)
    # Pre-filled from the headers: Part code, Name, Supplier, Weight, ... Grade.
    assert [_selected(page, i) for i in range(8)] == [
        "code", "name", "supplier", "weight", "qty", "received", "active", "grade",
    ]  # fmt: skip
    assert "Bolt M6" in page  # the first values of each column
    assert '<option value="code">' in page  # suppliers can be found by their code
    form = {f"column-{i}": key for i, key in enumerate(
        ["code", "name", "supplier", "weight", "qty", "received", "active", "grade"])}  # fmt: skip
    form.update({"key-supplier": "code", "mode": "valid_rows", "date_order": "day_first",
                 "decimal_sign": "auto", "header_row": "1"})  # fmt: skip
    token = factories.csrf_token(client, mapping_url)
    checked = client.post(mapping_url, data={**form, "action": "check", "csrf_token": token})
    assert checked.status_code == 200
    text = checked.get_data(as_text=True)
    assert "6 rows: 3 valid, 3 not valid." in text
    assert re.search(r"<td>3</td><td>Weight</td><td>.*&#39;abc&#39; is not a number", text)
    assert "no &#39;erp.supplier&#39; record with code &#39;S-999&#39;" in text
    assert shop.parts() == []  # checking saves nothing
    done = client.post(mapping_url, data={**form, "action": "import", "csrf_token": token})
    assert done.status_code == 302 and "/import/jobs/" in done.headers["Location"]
    progress = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Imported 3 of 6 rows." in progress and "3 rows were not valid" in progress
    assert 'http-equiv="refresh"' not in progress  # finished: no more reloading
    assert [p["code"] for p in shop.parts()] == GOOD_CODES
    # The record's history says it was imported, from which file, by which job.
    job_id = done.headers["Location"].rsplit("/", 1)[1]
    first = RecordStore(shop.session, shop.admin).entity("erp", "part").list().items[-1]
    shop.session.rollback()
    history = client.get(f"{LIST}{first.id}").get_data(as_text=True)
    assert f"import parts.csv (job {job_id})" in history


def test_a_running_import_page_reloads_itself(app, shop):
    client = _signed_in(app)
    r = shop.post(csv_bytes([["code", "name"], ["A", "a"]]))
    job = shop.session.get(Job, r.json["id"])
    job.status, job.progress = "started", 40.0
    shop.session.commit()
    page = client.get(f"{UPLOAD}/jobs/{job.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress max="100" value="40.0">' in page


def test_an_all_or_nothing_import_of_a_bad_file_says_nothing_was_imported(app, shop):
    client = _signed_in(app)
    mapping_url = _upload(client, csv_bytes(MIXED)).headers["Location"]
    token = factories.csrf_token(client, mapping_url)
    form = {f"column-{i}": "" for i in range(8)} | {"column-0": "code", "column-1": "name"}
    form |= {"column-3": "weight", "action": "import", "csrf_token": token}
    done = client.post(mapping_url, data=form)
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported: 2 of 6 rows are not valid." in page
    assert shop.parts() == []


def test_bad_files_and_mappings_are_shown_on_the_page(app, shop):
    client = _signed_in(app)
    r = _upload(client, b"%PDF-1.4", "scan.pdf")
    assert r.status_code == 422
    assert "Import a CSV (.csv) or Excel (.xlsx) file." in r.get_data(as_text=True)
    mapping_url = _upload(client, csv_bytes([["Label", "Note"], ["A", "a"]])).headers["Location"]
    token = factories.csrf_token(client, mapping_url)
    r = client.post(mapping_url, data={"column-0": "code", "column-1": "",
                                       "action": "check", "csrf_token": token})  # fmt: skip
    assert r.status_code == 422
    assert "no column fills &#39;name&#39;" in r.get_data(as_text=True)


def test_importing_needs_the_create_right_and_the_file_stays_its_uploaders(app, shop):
    from sqlalchemy import select

    from jizuo.platform.models import App
    from jizuo.platform.permissions import define_role, save_app_permissions

    client = _signed_in(app)
    mapping_url = _upload(client, csv_bytes([["code", "name"], ["A", "a"]])).headers["Location"]
    define_role(shop.session, shop.admin, "viewer", "Viewer")
    erp = shop.session.scalar(select(App).where(App.key == "erp"))
    save_app_permissions(
        shop.session, shop.admin, erp, {"entities": {"part": {"viewer": {"actions": ["read"]}}}}
    )
    factories.member(shop.session, shop.ws, "vera", ("viewer",))
    factories.member(shop.session, shop.ws, "mike", ("member",))
    shop.session.commit()
    viewer = _signed_in(app, "vera")
    assert f'href="{UPLOAD}"' not in viewer.get(LIST).get_data(as_text=True)
    assert viewer.get(UPLOAD).status_code == 403
    # Another member may import, but not with someone else's uploaded file.
    assert _signed_in(app, "mike").get(mapping_url).status_code == 404


def test_the_list_export_imported_into_an_empty_entity_gives_the_same_records(app, shop):
    factories.published(shop.session, shop.admin, "erp", part_copy())
    parts = RecordStore(shop.session, shop.admin).entity("erp", "part")
    originals = [
        {"code": "P-1", "name": "Bolt, M6 \"long\"", "supplier": shop.acme, "weight": 1.5,
         "qty": 10, "received": "2026-11-25", "inspected_at": "2026-11-25T08:30:00",
         "active": True, "grade": "a", "colours": ["red", "blue"], "owner": shop.user.id},
        {"code": "P-2", "name": "=HYPERLINK(\"x\")", "supplier": shop.bolt, "weight": 0.125,
         "qty": 0, "active": False, "grade": "b", "colours": ["green"]},
        {"code": "P-3", "name": "螺母\nzweite Zeile", "weight": 1234.5},
    ]  # fmt: skip
    parts.create_many(originals)
    shop.session.commit()
    client = _signed_in(app)
    exported = client.get("/apps/erp/part/export")
    assert exported.status_code == 200
    # The export names a supplier; the import finds it by that name again.
    r = shop.post(
        exported.data,
        url="/api/v1/apps/erp/entities/part_copy/imports",
        reference_keys=json.dumps({"supplier": "name"}),
    )
    assert r.status_code == 202 and r.json["result"]["written"] == 3, r.json["result"]
    assert shop.parts("part_copy") == shop.parts("part")
    assert shop.parts("part_copy")[1]["name"] == '=HYPERLINK("x")'  # the export's quote undone


def test_the_import_pages_speak_chinese(app, shop):
    client = _signed_in(app)
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    page = client.get(UPLOAD, headers=zh).get_data(as_text=True)
    assert "导入到零件" in page and "上传" in page
    rows = [["零件编号", "名称"], ["P-1", "螺栓"]]
    mapping_url = _upload(client, csv_bytes(rows)).headers["Location"]
    page = client.get(mapping_url, headers=zh).get_data(as_text=True)
    assert "（不导入）" in page and "零件编号 (code)" in page
    assert [_selected(page, i) for i in range(2)] == ["code", "name"]
