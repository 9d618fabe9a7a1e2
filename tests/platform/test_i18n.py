"""English and 简体中文: the catalog is complete and compiled, pages follow the browser's
language (or the one chosen), and numbers and dates are formatted per language."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from jizuo.platform import i18n
from tests import factories
from tests.plant import Plant

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "jizuo"
ZH_PO = i18n.TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
ZH_MO = ZH_PO.with_suffix(".mo")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def _catalog():  # noqa: ANN202
    with ZH_PO.open("rb") as f:
        return read_po(f, locale="zh")


def _extracted() -> dict[str, list[str]]:
    """Every message the code and templates ask to translate, with where it is used."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map, options_map
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def test_the_catalog_lies_inside_the_package():
    assert i18n.TRANSLATIONS == PACKAGE / "translations"
    assert ZH_PO.is_file() and ZH_MO.is_file()


def test_every_message_has_a_chinese_translation():
    catalog = _catalog()
    missing = []
    for msgid, where in sorted(_extracted().items()):
        message = catalog.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing.append(f"{msgid!r} ({where[0]})")
    assert not missing, "untranslated (see jizuo/platform/i18n.py):\n" + "\n".join(missing)


def test_translations_keep_their_placeholders():
    problems = [(message.id, errors) for message, errors in _catalog().check()]
    assert not problems


def test_the_compiled_catalog_is_up_to_date():
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())
    assert ZH_MO.read_bytes() == compiled.getvalue(), (
        "messages.mo is older than messages.po: run pybabel compile -d jizuo/translations"
    )


def test_pages_follow_the_browser_language(client):
    chinese = client.get("/login", headers=ZH).get_data(as_text=True)
    assert "登录" in chinese and 'lang="zh-Hans"' in chinese and "用户名" in chinese
    english = client.get("/login", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "Sign in" in english and "登录" not in english and 'lang="en"' in english
    assert "Sign in" in client.get("/login").get_data(as_text=True)  # no preference: English


def test_a_chosen_language_beats_the_browser(client):
    token = factories.csrf_token(client, "/login")
    response = client.post("/language", data={"lang": "zh", "next": "/login", "csrf_token": token})
    assert response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "登录" in page and 'aria-pressed="true">简体中文' in page


def test_app_pages_in_chinese_show_chinese_titles(app, session):
    plant = Plant(session)
    plant.ncr(lot_no="L-1", qty_rejected=1234)
    client = app.test_client()
    factories.login(client, "root")
    chinese = client.get("/apps/qms/ncr/", headers=ZH).get_data(as_text=True)
    assert "不合格品报告" in chinese and "应用" in chinese and "第 1–1 条，共 1 条" in chinese
    assert "退出登录" in chinese and "1,234" in chinese
    english = client.get("/apps/qms/ncr/").get_data(as_text=True)
    assert "Nonconformance report" in english and "不合格品报告" not in english
    assert "1–1 of 1" in english and "Sign out" in english
    assert "供应商" in client.get("/apps/erp/", headers=ZH).get_data(as_text=True)


def test_error_titles_are_translated(app, session):
    Plant(session)
    client = app.test_client()
    factories.login(client, "root")
    page = client.get("/apps/nope/", headers=ZH).get_data(as_text=True)
    assert "未找到" in page


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", ("12,345.678", "1,234.50", "May 3, 2024", "12")),
        ("zh", ("12,345.678", "1,234.50", "2024年5月3日", "12")),
    ],
)
def test_numbers_and_dates_per_locale(app, locale, expected):
    with app.test_request_context("/"), force_locale(locale):
        shown = (
            i18n.number(12345.678),
            i18n.number(1234.5, 2),
            i18n.date_text("2024-05-03"),
            i18n.number(12),
        )
        assert shown == expected
        assert "2024" in i18n.datetime_text("2024-05-03T08:30:00Z")
        assert i18n.number(None) == "" and i18n.date_text("not a date") == "not a date"
