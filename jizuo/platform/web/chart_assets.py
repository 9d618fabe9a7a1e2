"""The Vega bundle, served from our own origin (the Content Security Policy allows no other).

vl-convert ships Vega, Vega-Lite and Vega-Embed as one script; it is built once per process
on first use. Its URL names the library versions, so browsers may keep it for a year; the
ETag answers revalidation without sending it again.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache

from flask import Flask, Response, abort, request

from jizuo.platform.charts import vega_lite_version
from jizuo.platform.security import PUBLIC, access
from jizuo.platform.web.blueprints import auth

_build_lock = threading.Lock()


@cache
def bundle_version() -> str:
    """The versions of Vega, Vega-Lite and Vega-Embed in the bundle (part of its URL)."""
    import vl_convert

    embed = vl_convert.get_vega_embed_version()
    return f"{vl_convert.get_vega_version()}-{vega_lite_version()}-{embed}"


def vega_bundle() -> tuple[bytes, str]:
    """The bundle's bytes and ETag, built on the first call of the process."""
    with _build_lock:
        return _build()


@cache
def _build() -> tuple[bytes, str]:
    import vl_convert

    body = vl_convert.javascript_bundle(vl_version=vega_lite_version()).encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@auth.get("/assets/vega-<version>.js")
@access(PUBLIC)
def vega_script(version: str) -> Response:
    if version != bundle_version():
        abort(404)
    body, etag = vega_bundle()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(body, mimetype="text/javascript", headers=headers)


def vega_bundle_url() -> str:
    """Where pages load the bundle from."""
    return f"/assets/vega-{bundle_version()}.js"


def init_app(app: Flask) -> None:
    """Let templates include charts (``{% include "charts/_scripts.html" %}``)."""
    app.jinja_env.globals["vega_bundle_url"] = vega_bundle_url
