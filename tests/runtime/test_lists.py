"""List views: columns, filters, search, sorting, pages and their counts, bulk delete and
CSV export, navigation."""

from __future__ import annotations

import csv
import io
import re

from jizuo.platform import catalog
from jizuo.platform.auth import add_member
from jizuo.platform.records import RecordStore
from jizuo.runtime import presenting
from tests import factories
from tests.plant import INSPECTOR_POLICY, SECRET_COST, Plant

LIST = "/apps/qms/ncr/"


def _signed_in(app, name: str = "root"):  # noqa: ANN001, ANN201
    client = app.test_client()
    factories.login(client, name)
    return client


def _lots(body: str) -> list[str]:
    """The lot numbers of a list page, in the order shown."""
    return re.findall(r"<td>(LOT-[A-Z0-9-]+)</td>", body)


def _plant_with_ncrs(session) -> Plant:  # noqa: ANN001
    plant = Plant(session)
    plant.ncr(lot_no="LOT-A1", source="iqc", qty_rejected=3, supplier=plant.s1)
    plant.ncr(lot_no="LOT-B2", source="oqc", qty_rejected=7)
    plant.ncr(lot_no="LOT-C3", source="customer", qty_rejected=5, complaint="Cracked housing")
    plant.ncr(lot_no="LOT-AB4", source="iqc", qty_rejected=12345)
    plant.ncr(lot_no="LOT-D5", source="ipqc", qty_rejected=1)
    return plant


def test_columns_filters_and_search(app, session):
    _plant_with_ncrs(session)
    client = _signed_in(app)
    body = client.get(LIST).get_data(as_text=True)
    assert _lots(body) == ["LOT-D5", "LOT-AB4", "LOT-C3", "LOT-B2", "LOT-A1"]  # newest first
    assert "12,345" in body  # numbers in the locale's format
    assert "1–5 of 5" in body
    assert 'name="lot_no__contains"' in body and 'name="qty_rejected__gte"' in body
    assert '<option value="oqc"' in body  # a select filter for the enum
    assert "unit_cost" not in _lots(body)

    def lots(query: str) -> list[str]:
        response = client.get(LIST + "?" + query)
        assert response.status_code == 200, query
        return _lots(response.get_data(as_text=True))

    assert lots("lot_no__contains=a") == ["LOT-AB4", "LOT-A1"]  # case-insensitive
    assert lots("qty_rejected__gte=3&qty_rejected__lte=7") == ["LOT-C3", "LOT-B2", "LOT-A1"]
    assert lots("source=iqc") == ["LOT-AB4", "LOT-A1"]
    assert lots("q=cracked") == ["LOT-C3"]  # the search looks in every text field
    assert lots("q=b") == ["LOT-AB4", "LOT-B2"]
    assert lots("q=b&source=oqc") == ["LOT-B2"]
    assert lots("q=nothing-like-this") == []
    assert lots("source=&lot_no__contains=") == _lots(body)  # empty boxes filter nothing
    assert client.get(LIST + "?qty_rejected__gte=many").status_code == 400


def test_sorting_by_clicking_headers(app, session):
    _plant_with_ncrs(session)
    client = _signed_in(app)
    body = client.get(LIST + "?source=iqc").get_data(as_text=True)
    # The header links keep the filters and sort ascending first.
    assert 'href="/apps/qms/ncr/?source=iqc&amp;order_by=qty_rejected"' in body
    ascending = client.get(LIST + "?order_by=qty_rejected").get_data(as_text=True)
    assert _lots(ascending) == ["LOT-D5", "LOT-A1", "LOT-C3", "LOT-B2", "LOT-AB4"]
    assert 'aria-sort="ascending"' in ascending
    assert "order_by=-qty_rejected" in ascending  # clicking again sorts descending
    descending = client.get(LIST + "?order_by=-qty_rejected").get_data(as_text=True)
    assert _lots(descending) == list(reversed(_lots(ascending)))
    assert 'aria-sort="descending"' in descending


def test_pages_follow_the_cursor_and_say_where_they_are(app, session):
    _plant_with_ncrs(session)
    app.config["DEFAULT_PAGE_SIZE"] = 2
    client = _signed_in(app)
    seen, url, counts = [], LIST + "?order_by=lot_no", []
    while url:
        body = client.get(url).get_data(as_text=True)
        seen += _lots(body)
        counts.append(re.search(r"\d+–\d+ of [^<]+", body).group(0).strip())
        found = re.search(r'rel="next" href="([^"]+)"', body)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == ["LOT-A1", "LOT-AB4", "LOT-B2", "LOT-C3", "LOT-D5"]
    assert counts == ["1–2 of 5", "3–4 of 5", "5–5 of 5"]


def _walk(client, url: str, rel: str) -> tuple[list[list[str]], list[str]]:  # noqa: ANN001
    """Follow the ``rel`` links from ``url``: the lots and the position text of each page."""
    pages, counts = [], []
    while url:
        body = client.get(url).get_data(as_text=True)
        pages.append(_lots(body))
        counts.append(re.search(r"\d+–\d+ of [^<]+", body).group(0).strip())
        found = re.search(rf'rel="{rel}" href="([^"]+)"', body)
        url = found.group(1).replace("&amp;", "&") if found else None
    return pages, counts


def test_previous_pages_walk_back_to_the_first_in_any_order(app, session):
    plant = _plant_with_ncrs(session)
    plant.ncr(lot_no="LOT-E6", source="iqc", qty_rejected=2, complaint="Loose")
    plant.ncr(lot_no="LOT-F7", source="iqc", qty_rejected=2, complaint="Bent")
    app.config["DEFAULT_PAGE_SIZE"] = 2
    client = _signed_in(app)
    # Complaints are empty on most NCRs: empty values sort last in both directions.
    for order in ("complaint", "-complaint", "qty_rejected", "-id"):
        forward, counts = _walk(client, f"{LIST}?order_by={order}", "next")
        last = client.get(f"{LIST}?order_by={order}")
        for _ in forward[1:]:
            body = last.get_data(as_text=True)
            url = re.search(r'rel="next" href="([^"]+)"', body).group(1).replace("&amp;", "&")
            last = client.get(url)
        back_url = re.search(r'rel="prev" href="([^"]+)"', last.get_data(as_text=True))
        backward, back_counts = _walk(client, back_url.group(1).replace("&amp;", "&"), "prev")
        assert backward == forward[-2::-1], order
        assert back_counts == counts[-2::-1], order
        assert sorted(lot for page in forward for lot in page) == sorted(
            f"LOT-{x}" for x in ("A1", "B2", "C3", "AB4", "D5", "E6", "F7")
        )
        assert 'rel="prev"' not in client.get(f"{LIST}?order_by={order}").get_data(as_text=True)


def test_a_big_list_is_counted_only_up_to_a_cap(app, session, monkeypatch):
    _plant_with_ncrs(session)
    app.config["DEFAULT_PAGE_SIZE"] = 2
    monkeypatch.setattr(presenting, "COUNT_CAP", 3)
    client = _signed_in(app)
    body = client.get(LIST).get_data(as_text=True)
    text = re.search(r"1–2 of [^<]+", body).group(0).strip()
    if session.get_bind().dialect.name == "postgresql":
        assert re.fullmatch(r"1–2 of (about [\d,]+|more than 3)", text), text
    else:
        assert text == "1–2 of more than 3"
    # Within the cap the count is exact.
    assert "1–2 of 2" in client.get(LIST + "?source=iqc").get_data(as_text=True)


def test_planner_estimate_on_postgresql(app, session):
    plant = _plant_with_ncrs(session)
    records = RecordStore(session, plant.admin).entity("qms", "ncr")
    if records.dialect != "postgresql":
        return
    query, _ = records.list_query([], limit=10)
    assert presenting.planner_rows(session, query.limit(None)) >= 1
    assert presenting.round_estimate(123456) == 120000
    assert presenting.round_estimate(87) == 87


def test_bulk_delete_needs_the_permission_and_keeps_referenced_records(app, session):
    plant = _plant_with_ncrs(session)
    client = _signed_in(app)
    store = RecordStore(session, plant.admin).entity("qms", "ncr")
    ids = [r.id for r in store.list().items]
    response = factories.post_form(
        client,
        LIST + "delete",
        {"ids": ids[:2], "list_query": "source=iqc"},
        page=LIST,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/apps/qms/ncr/?source=iqc")
    session.rollback()  # a fresh snapshot
    assert sorted(r.id for r in store.list().items) == sorted(ids[2:])
    # A supplier still referenced by an NCR stays, and the page says why.
    suppliers = "/apps/erp/supplier/"
    response = factories.post_form(
        client, suppliers + "delete", {"ids": [plant.s1, plant.s2]}, page=suppliers
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Deleted 1 record(s)." in page and f"#{plant.s1}" in page
    # Without the CSRF token nothing happens.
    assert client.post(LIST + "delete", data={"ids": ids[2]}).status_code == 400

    session.rollback()
    plant.policy("qms", {"entities": {"ncr": {"visitor": {"actions": ["read"]}}}})
    plant.person("vic", ("visitor",))
    vic = _signed_in(app, "vic")
    listing = vic.get(LIST).get_data(as_text=True)
    assert "Delete selected" not in listing and 'name="ids"' not in listing
    refused = factories.post_form(vic, LIST + "delete", {"ids": ids[2]}, page=LIST)
    assert refused.status_code == 403
    session.rollback()  # a fresh snapshot
    session.rollback()
    assert ids[2] in {r.id for r in store.list().items}


def _csv(response) -> list[list[str]]:  # noqa: ANN001
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_csv_export_of_the_filtered_list_and_of_a_selection(app, session):
    plant = _plant_with_ncrs(session)
    plant.ncr(lot_no="=CMD()", source="iqc", unit_cost=SECRET_COST)
    client = _signed_in(app)
    rows = _csv(client.get(LIST + "export?source=iqc&order_by=lot_no"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "State", "Created"] and "lot_no" in header
    lot = header.index("lot_no")
    assert [r[lot] for r in body] == ["'=CMD()", "LOT-A1", "LOT-AB4"]  # no formulas
    assert str(SECRET_COST) in {r[header.index("unit_cost")] for r in body}
    ids = [r.id for r in RecordStore(session, plant.admin).entity("qms", "ncr").list().items]
    chosen = _csv(factories.post_form(client, LIST + "export", {"ids": ids[:2]}, page=LIST))
    assert sorted(int(r[0]) for r in chosen[1:]) == sorted(ids[:2])
    assert client.get(LIST).get_data(as_text=True).count("Export") >= 2


def test_export_needs_the_permission_and_leaves_hidden_fields_out(app, session):
    plant = _plant_with_ncrs(session)
    plant.ncr(lot_no="LOT-SECRET", unit_cost=SECRET_COST)
    hidden = INSPECTOR_POLICY["entities"]["ncr"]["inspector"]["fields"]
    policy = {
        "ncr": {
            "inspector": {"actions": ["read", "export"], "fields": hidden},
            "visitor": {"actions": ["read"]},
        }
    }
    plant.policy("qms", {"entities": policy})
    plant.person("ina", ("inspector",))
    plant.person("mo", ("visitor",))
    mo = _signed_in(app, "mo")
    assert "Export" not in mo.get(LIST).get_data(as_text=True)
    assert mo.get(LIST + "export").status_code == 403
    ids = [r.id for r in RecordStore(session, plant.admin).entity("qms", "ncr").list().items]
    assert factories.post_form(mo, LIST + "export", {"ids": ids}, page=LIST).status_code == 403

    ina = _signed_in(app, "ina")
    for response in (
        ina.get(LIST + "export"),
        factories.post_form(ina, LIST + "export", {"ids": ids}, page=LIST),
    ):
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and "LOT-SECRET" in text
        assert "unit_cost" not in text and str(SECRET_COST) not in text
        assert "cost" not in _csv(response)[0]
    # Filtering or sorting the export on a hidden field is refused like an unknown field.
    assert ina.get(LIST + "export?unit_cost__gte=0").status_code == 400


def test_date_filters_and_locale_formats(app, session):
    plant = Plant(session)
    specimen = {
        **factories.EVERY_TYPE,
        "list": {"columns": ["text", "date", "datetime"], "order_by": "date"},
    }
    factories.published(session, plant.admin, "lab", specimen)
    store = RecordStore(session, plant.admin).entity("lab", "specimen")
    for day, hour in (("2024-05-01", "08:00"), ("2024-05-03", "23:30"), ("2024-06-10", "12:00")):
        store.create({"text": f"T{day}", "date": day, "datetime": f"{day}T{hour}:00Z"})
    session.commit()
    client = _signed_in(app)
    url = "/apps/lab/specimen/"

    def texts(query: str) -> list[str]:
        body = client.get(url + "?" + query).get_data(as_text=True)
        return re.findall(r"<td>(T[\d-]+)</td>", body)

    assert texts("date__gte=2024-05-02&date__lte=2024-05-31") == ["T2024-05-03"]
    # The 'to' day of a date-time column includes that whole day; the definition's
    # list.order_by orders the list when the user has not chosen an order.
    assert texts("datetime__gte=2024-05-01&datetime__lte=2024-05-03") == [
        "T2024-05-01",
        "T2024-05-03",
    ]
    assert texts("order_by=-date") == ["T2024-06-10", "T2024-05-03", "T2024-05-01"]
    body = client.get(url).get_data(as_text=True)
    assert 'type="date"' in body and "May 3, 2024" in body
    client.post("/language", data={"lang": "zh", "csrf_token": factories.csrf_token(client, url)})
    assert "2024年5月3日" in client.get(url).get_data(as_text=True)


def test_navigation_menus_and_breadcrumbs(app, session):
    plant = _plant_with_ncrs(session)
    other = factories.workspace(session, "beta")
    add_member(session, plant.admin_user, other, ["admin"])
    session.commit()
    client = _signed_in(app)
    home = client.get("/").get_data(as_text=True)
    assert 'class="tiles launcher"' in home and 'href="/apps/erp/"' in home
    assert f'name="workspace_id" value="{other.id}"' in home  # switcher in the top bar
    assert "Sign out" in home and "API tokens" in home  # user menu
    listing = client.get(LIST).get_data(as_text=True)
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', listing, re.S).group(0)
    assert 'href="/apps/qms/"' in crumbs and "QMS" in crumbs
    assert 'aria-current="page">Nonconformance report</a>' in listing  # app menu
    # The app menu names only what the user may read.
    plant.policy("erp", {"entities": {"supplier": {"member": {"actions": []}}}})
    plant.person("mo", ("member",))
    mo = _signed_in(app, "mo")
    assert "/apps/erp/supplier/" not in mo.get("/apps/erp/").get_data(as_text=True)
    assert catalog.get_app(session, plant.admin, "qms").key == "qms"
