"""Delivering one webhook outbox message: sign, POST with timeouts, log the answer.

Each attempt is logged (``WebhookDelivery``: status, duration, error) whether it succeeds or
not. Success is a 2xx answer; anything else (other statuses, timeouts, refused connections)
raises ``DeliveryError`` and the outbox retries with backoff, then dead-letters. A
subscription that was deactivated meanwhile is skipped.
"""

from __future__ import annotations

import json
import time
from uuid import UUID

import structlog
from django.conf import settings

from apps.agencies.models import Agency
from apps.outbox.handlers import DeliveryError
from apps.outbox.http import HTTPDeliveryError, http_post
from apps.outbox.models import OutboxMessage
from apps.webhooks.models import PartnerWebhookSubscription, WebhookDelivery
from apps.webhooks.services import url_resolves_publicly
from apps.webhooks.signing import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    KEY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    key_signature_header,
    secret_decrypt,
    signature_header,
)

logger = structlog.get_logger(__name__)


def webhook_body(payload: dict[str, object], agency_slug: str) -> bytes:
    """The JSON body of an event (the same bytes for every retry)."""
    document = {
        "id": payload["event_id"],
        "type": payload["event"],
        "created_at": payload["occurred_at"],
        "agency": agency_slug,
        "data": payload.get("data", {}),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def webhook_deliver(message: OutboxMessage) -> None:
    """POST one event to one subscription."""
    payload = message.payload
    subscription = PartnerWebhookSubscription.objects.filter(
        pk=payload["subscription_id"], is_active=True
    ).first()
    if subscription is None:
        logger.info("webhook_skipped_inactive", webhook_event=payload.get("event"))
        return
    slug = (
        Agency.objects.filter(schema_name=payload.get("agency_schema"))
        .values_list("slug", flat=True)
        .first()
    ) or ""
    body = webhook_body(payload, slug)
    attempt = message.attempts + 1

    def log(status: int | None, duration_ms: int, error: str, success: bool) -> None:
        WebhookDelivery.objects.create(
            subscription=subscription,
            event_id=UUID(str(payload["event_id"])),
            event=payload["event"],
            attempt=attempt,
            outbox_message_id=message.pk,
            response_status=status,
            duration_ms=duration_ms,
            error=error[:200],
            is_success=success,
        )

    if not url_resolves_publicly(subscription.url):
        raise DeliveryError(
            "endpoint resolves to a private address",
            permanent=True,
            on_failure=lambda: log(None, 0, "private address", False),
        )
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Guichet-Webhooks/1",
        EVENT_HEADER: str(payload["event"]),
        EVENT_ID_HEADER: str(payload["event_id"]),
        SIGNATURE_HEADER: signature_header(
            secret=secret_decrypt(subscription.secret_encrypted), body=body, timestamp=timestamp
        ),
        KEY_SIGNATURE_HEADER: key_signature_header(body=body, timestamp=timestamp),
    }
    try:
        result = http_post(
            subscription.url,
            body=body,
            headers=headers,
            connect_timeout=float(settings.WEBHOOK_CONNECT_TIMEOUT),
            read_timeout=float(settings.WEBHOOK_READ_TIMEOUT),
        )
    except HTTPDeliveryError as exc:
        error = str(exc)
        duration = exc.duration_ms
        raise DeliveryError(
            f"webhook: {error}", on_failure=lambda: log(None, duration, error, False)
        ) from exc
    if not result.is_success:
        status = result.status
        raise DeliveryError(
            f"webhook endpoint answered {status}",
            on_failure=lambda: log(status, result.duration_ms, f"HTTP {status}", False),
        )
    log(result.status, result.duration_ms, "", True)
    logger.info(
        "webhook_delivered",
        webhook_event=payload["event"],
        status=result.status,
        duration_ms=result.duration_ms,
        attempt=attempt,
    )
