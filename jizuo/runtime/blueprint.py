"""The runtime's blueprint (views add their routes in their own modules)."""

from __future__ import annotations

from flask import Blueprint

runtime = Blueprint("runtime", __name__, url_prefix="/apps", template_folder="templates")
