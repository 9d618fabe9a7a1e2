"""The start page of workspace administration."""

from __future__ import annotations

from flask import render_template

from jizuo.platform.security import ADMIN_RULE, access
from jizuo.platform.web.blueprints import admin


@admin.get("/")
@access(ADMIN_RULE)
def index() -> str:
    return render_template("admin/index.html")
