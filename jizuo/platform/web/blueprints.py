"""The blueprints of the platform's pages (views add their routes in their own modules)."""

from __future__ import annotations

from flask import Blueprint

#: Sign-in, account and workspace pages.
auth = Blueprint("auth", __name__, template_folder="templates")
#: Workspace administration (admins only, declared per view).
admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
