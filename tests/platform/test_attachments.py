"""Attachments over the API, and attachment fields of records."""

from __future__ import annotations

import io

from tests import factories


def _setup(session, key="acme"):
    ws = factories.workspace(session, key)
    user, _ = factories.member(session, ws, f"{key}-user")
    token = factories.token(session, ws, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_upload_download_and_workspace_isolation(app, session, client):
    headers = _setup(session)
    data = {"file": (io.BytesIO(b"%PDF-1.7 certificate"), "../../etc/cert of conformity.pdf")}
    r = client.post("/api/v1/attachments", data=data, headers=headers)
    assert r.status_code == 201
    body = r.json
    assert body["filename"] == "etc_cert_of_conformity.pdf" and body["size"] == 20
    with client.get(f"/api/v1/attachments/{body['id']}/content", headers=headers) as content:
        assert content.data == b"%PDF-1.7 certificate"
        assert content.headers["Content-Disposition"].startswith("attachment")
    other = _setup(session, "rival")
    assert client.get(f"/api/v1/attachments/{body['id']}", headers=other).status_code == 404


def test_too_large_is_refused_and_nothing_kept(app, session, client, tmp_path):
    headers = _setup(session)
    app.config["MAX_ATTACHMENT_BYTES"] = 10
    app.config["STORAGE_DIR"] = str(tmp_path / "files")
    data = {"file": (io.BytesIO(b"x" * 11), "big.bin")}
    r = client.post("/api/v1/attachments", data=data, headers=headers)
    assert r.status_code == 422
    assert not any(p.is_file() for p in (tmp_path / "files").rglob("*"))
    assert client.post("/api/v1/attachments", data={}, headers=headers).status_code == 400
