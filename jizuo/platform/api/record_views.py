"""Records of an entity: list, create, get, PATCH with If-Match, delete, history."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request

from jizuo.platform.api import api
from jizuo.platform.api.problems import if_match_version, json_body, page_limit
from jizuo.platform.api.serialize import history_json, record_json
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest
from jizuo.platform.query import parse_filters
from jizuo.platform.records import EntityRecords, RecordStore

RECORDS = "/apps/<app_key>/entities/<entity_key>/records"
LIST_PARAMS = {"limit", "cursor", "order_by"}
REASON_HEADER = "Jizuo-Change-Reason"


def _records(app_key: str, entity_key: str) -> EntityRecords:
    return RecordStore(get_session(), g.actor).entity(app_key, entity_key)


def _reason() -> str | None:
    reason = request.headers.get(REASON_HEADER)
    return reason[:2000] if reason else None


def _with_etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = f'"{version}"'
    return response


def _limit() -> int:
    config = current_app.config
    return page_limit(config["DEFAULT_PAGE_SIZE"], config["MAX_PAGE_SIZE"])


@api.get(RECORDS)
def list_records(app_key: str, entity_key: str) -> Response:
    records = _records(app_key, entity_key)
    params = {}
    for key in request.args:
        values = request.args.getlist(key)
        if len(values) > 1:
            raise BadRequest(f"Give '{key}' once; use '{key}__in=a,b' for several values.")
        params[key] = values[0]
    page = records.list(
        parse_filters(params, LIST_PARAMS),
        order_by=request.args.get("order_by"),
        limit=_limit(),
        cursor=request.args.get("cursor"),
    )
    ref = f"{app_key}.{entity_key}"
    items = [record_json(r, ref, records.visible) for r in page.items]
    return jsonify({"items": items, "next_cursor": page.next_cursor})


@api.post(RECORDS)
def create_record(app_key: str, entity_key: str) -> tuple[Response, int]:
    records = _records(app_key, entity_key)
    record = records.create(json_body(), reason=_reason())
    get_session().commit()
    response = jsonify(record_json(record, f"{app_key}.{entity_key}", records.visible))
    response.headers["Location"] = f"{request.path}/{record.id}"
    return _with_etag(response, record.version), 201


@api.get(f"{RECORDS}/<int:record_id>")
def get_record(app_key: str, entity_key: str, record_id: int) -> Response:
    records = _records(app_key, entity_key)
    record = records.get(record_id)
    body = record_json(record, f"{app_key}.{entity_key}", records.visible)
    return _with_etag(jsonify(body), record.version)


@api.patch(f"{RECORDS}/<int:record_id>")
def update_record(app_key: str, entity_key: str, record_id: int) -> Response:
    records = _records(app_key, entity_key)
    expected = if_match_version()
    record = records.update(record_id, json_body(), expected, reason=_reason())
    get_session().commit()
    body = record_json(record, f"{app_key}.{entity_key}", records.visible)
    return _with_etag(jsonify(body), record.version)


@api.delete(f"{RECORDS}/<int:record_id>")
def delete_record(app_key: str, entity_key: str, record_id: int) -> tuple[str, int]:
    records = _records(app_key, entity_key)
    expected = if_match_version() if request.headers.get("If-Match") else None
    records.delete(record_id, expected, reason=_reason())
    get_session().commit()
    return "", 204


@api.get(f"{RECORDS}/<int:record_id>/history")
def record_history(app_key: str, entity_key: str, record_id: int) -> Response:
    records = _records(app_key, entity_key)
    entries = records.history(record_id)
    return jsonify({"items": [history_json(e, records.visible) for e in entries]})
