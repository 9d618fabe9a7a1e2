"""The gate: every route has an access rule, anonymous requests are refused, browser
protections (CSRF, headers, cookies) are in place."""

from __future__ import annotations

import pytest
from flask import jsonify

from jizuo import create_app
from jizuo.platform.security import PUBLIC, RULES, access_rule
from tests import factories

#: The only routes anyone may open without signing in.
ALLOW_LIST = {
    "static",
    "runtime.static",
    "designer.static",
    "healthz",
    "auth.login",
    "auth.switch_language",
    "auth.inbound_webhook",
    "auth.vega_script",
}


def _url(app, rule) -> str:  # noqa: ANN001
    # Any value fits most converters; a choice among words takes its first word.
    values = {
        name: sorted(getattr(rule._converters[name], "items", [1]))[0] for name in rule.arguments
    }
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=None)


def test_every_route_declares_an_access_rule(app):
    for rule in app.url_map.iter_rules():
        declared = access_rule(app, rule.endpoint)
        assert declared in RULES, f"{rule.rule} ({rule.endpoint}) declares no access rule"
        if declared == PUBLIC:
            assert rule.endpoint in ALLOW_LIST, f"{rule.rule} is public but not allow-listed"


def test_anonymous_requests_are_refused_on_every_route_but_the_allow_list(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ALLOW_LIST:
            continue
        url = _url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            checked += 1
            if url.startswith("/api/"):
                assert response.status_code == 401, (method, url, response.status_code)
                assert response.mimetype == "application/problem+json"
            else:
                assert response.status_code == 302, (method, url, response.status_code)
                assert response.headers["Location"].startswith("/login?next=")
    assert checked > 30  # the API and the pages were really walked


def test_allow_listed_routes_answer_anonymous_requests(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/login").status_code == 200
    with client.get("/static/jizuo.css") as stylesheet:
        assert stylesheet.status_code == 200 and b"--color-primary" in stylesheet.data


def test_a_route_without_an_access_rule_is_refused_to_everyone(tmp_path, database_url):
    app = create_app(
        {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": database_url, "SECRET_KEY": "k"}
    )

    @app.get("/forgotten")
    def forgotten():  # noqa: ANN202
        return jsonify({"secret": "data"})

    assert access_rule(app, "forgotten") is None
    response = app.test_client().get("/forgotten")
    assert response.status_code == 403 and b"secret" not in response.data


def test_members_are_refused_on_every_admin_page(app, session, client):
    ws = factories.workspace(session)
    factories.member(session, ws, "mia", ("member", "designer"))
    session.commit()
    factories.login(client, "mia")
    admin_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    assert admin_rules
    for rule in admin_rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": factories.csrf_token(client, "/")} if method != "GET" else None
            response = client.open(_url(app, rule), method=method, data=data)
            assert response.status_code == 403, (method, rule.rule, response.status_code)


def test_pages_and_api_carry_security_headers(app, session, client):
    for response in (client.get("/login"), client.get("/api/v1/apps")):
        headers = response.headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_state_changing_forms_need_the_csrf_token(app, session, client):
    ws = factories.workspace(session)
    factories.member(session, ws, "ann", ("admin",))
    session.commit()
    # Signing in is a form too: no CSRF token, no sign-in.
    refused = client.post("/login", data={"username": "ann", "password": factories.PASSWORD})
    assert refused.status_code == 400 and b"CSRF" in refused.data
    factories.login(client, "ann")
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 400
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still signed in
    assert client.get("/logout").status_code == 405  # never by a plain link


def test_api_calls_with_the_session_cookie_need_the_csrf_header(app, session, client):
    ws = factories.workspace(session)
    factories.member(session, ws, "ann", ("admin",))
    session.commit()
    factories.login(client, "ann")
    apps = client.get("/api/v1/apps")
    assert apps.status_code == 200 and apps.headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    body = {"key": "qms", "title": "QMS"}
    refused = client.post("/api/v1/apps", json=body)
    assert refused.status_code == 400 and "CSRF" in refused.json["detail"]
    token = factories.csrf_token(client, "/")
    assert client.post("/api/v1/apps", json=body, headers={"X-CSRFToken": token}).status_code == 201


def test_bearer_token_calls_need_no_csrf_token(app, session, client):
    ws = factories.workspace(session)
    user, _ = factories.member(session, ws, "bot", ("admin",))
    token = factories.token(session, ws, user)
    session.commit()
    response = client.post(
        "/api/v1/apps", json={"key": "qms", "title": "QMS"}, headers=_bearer(token)
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "base_url, secure", [("http://localhost", False), ("https://localhost", True)]
)
def test_session_cookie_flags(app, session, base_url, secure):
    ws = factories.workspace(session)
    factories.member(session, ws, "ann", ("member",))
    session.commit()
    client = app.test_client()
    page = client.get("/login", base_url=base_url)
    token = factories._CSRF.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login",
        data={"username": "ann", "password": factories.PASSWORD, "csrf_token": token},
        base_url=base_url,
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


def test_no_password_or_secret_reaches_the_logs_or_error_pages(app, session, client, caplog):
    ws = factories.workspace(session)
    factories.member(session, ws, "ann", ("member",))
    session.commit()
    caplog.set_level("DEBUG")
    secret = "hunter2-very-secret-guess"
    response = factories.login(client, "ann", secret)
    assert secret not in caplog.text and secret.encode() not in response.data
    assert app.config["SECRET_KEY"] not in caplog.text
    assert app.config["SECRET_KEY"].encode() not in response.data


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
