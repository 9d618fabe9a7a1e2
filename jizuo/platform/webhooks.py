"""Webhooks: HMAC signatures, outbound calls of automations, inbound calls that start one.

Both directions sign the raw body with HMAC-SHA256 in the header
``X-Jizuo-Signature: sha256=<hex>``. Outbound calls also send ``Idempotency-Key`` (the
action's receipt key, the same on every retry) so the receiver can drop duplicates.

Inbound: ``POST /hooks/<token>``; the token names the automation, the secret (created by
a designer with ``POST /api/v1/apps/{app}/automations/{key}/webhook`` and shown once)
signs the body. A missing or wrong signature changes nothing and gets 401.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.errors import BadRequest, NotFound
from jizuo.platform.models import Definition, Job, WebhookSecret

SIGNATURE_HEADER = "X-Jizuo-Signature"
MAX_INBOUND_BYTES = 1024 * 1024


class WebhookFailed(RuntimeError):
    """An outbound call did not get a 2xx answer (the job fails and is retried)."""


class BadSignature(Exception):
    """An inbound call whose signature is missing or wrong."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (compared in constant time)."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def call_webhook(
    url: str,
    body: bytes,
    *,
    idempotency_key: str,
    secret: str | None = None,
    timeout: float = 10.0,
) -> int:
    """POST a JSON body; the status on a 2xx answer, else WebhookFailed."""
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        "User-Agent": "jizuo-automations",
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked at save
            status = response.status
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"{url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookFailed(f"{url} could not be reached: {exc}") from None
    if not 200 <= status < 300:
        raise WebhookFailed(f"{url} answered {status}")
    return status


# -- inbound ------------------------------------------------------------------------


def issue_secret(session: Session, definition: Definition) -> tuple[str, str]:
    """A new token and secret for an automation's inbound webhook (replacing earlier ones);
    returned once, never shown again."""
    token, secret = secrets.token_urlsafe(24), secrets.token_hex(32)
    found = session.get(WebhookSecret, definition.id)
    if found is None:
        session.add(WebhookSecret(definition_id=definition.id, token=token, secret=secret))
    else:
        found.token, found.secret = token, secret
    session.flush()
    return token, secret


def receive(
    session: Session, token: str, raw: bytes, signature: str | None, key: str | None
) -> Job:
    """Check an inbound call and enqueue the automation's run with its JSON payload.

    NotFound for an unknown token or an automation not live with a webhook trigger,
    BadSignature for a wrong signature (nothing is written either way)."""
    from jizuo.platform.automation_runner import enqueue_run
    from jizuo.platform.automations import workspace_automations

    found = session.scalar(select(WebhookSecret).where(WebhookSecret.token == token))
    if found is None or not secrets.compare_digest(found.token, token):
        raise NotFound("No such webhook.")
    if not verify(found.secret, raw, signature):
        raise BadSignature("The signature is missing or wrong.")
    definition = session.get(Definition, found.definition_id)
    live = {
        a.definition_id: a for a in workspace_automations(session, definition.workspace_id).webhooks
    }
    automation = live.get(definition.id)
    if automation is None:
        raise NotFound(
            "This webhook's automation is not published, enabled and triggered by webhooks."
        )
    try:
        payload: Any = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None
    if _has_nul(payload):
        raise BadRequest("Text may not contain the NUL character.")
    occurrence = "hook:" + (key or str(uuid.uuid4()))[:100]
    return enqueue_run(session, automation, definition.workspace_id, occurrence, payload=payload)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False
