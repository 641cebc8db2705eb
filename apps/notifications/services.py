"""Queueing notifications: one outbox message per channel, in the caller's transaction.

A person is reached by SMS when they have a phone number and by e-mail when they have an
address (both when they have both). The message holds ids only; texts are rendered when it is
delivered, in the recipient's language at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import EllipsisType
from typing import Any
from uuid import UUID

import structlog

from apps.accounts.models import User
from apps.notifications.rendering import Template
from apps.outbox.models import Kind, OutboxMessage
from apps.outbox.services import outbox_enqueue

logger = structlog.get_logger(__name__)


class Channel:
    """How a notification travels."""

    SMS = "sms"
    EMAIL = "email"


def notification_enqueue(
    *,
    recipient_id: UUID,
    template: str,
    application_id: UUID | None = None,
    certificate_id: UUID | None = None,
    payment_id: UUID | None = None,
    dedupe_key: str = "",
    person: Mapping[str, str] | EllipsisType | None = ...,
) -> list[OutboxMessage]:
    """Queue ``template`` for ``recipient_id`` on every channel they can be reached on.

    Call it inside the transaction of the change being notified. ``dedupe_key`` (optional)
    makes it happen once per key (per channel). ``person`` (``{"phone", "email"}``, or None for
    an inactive person), when the caller read it already, saves the query. Returns the
    messages written.
    """
    if template not in Template.ALL:
        raise ValueError(f"unknown notification template {template!r}")
    contact: Mapping[str, Any] | None
    if isinstance(person, EllipsisType):
        contact = (
            User.objects.filter(pk=recipient_id, is_active=True).values("phone", "email").first()
        )
    else:
        contact = person
    if contact is None:
        logger.info("notification_no_recipient", template=template)
        return []
    channels = [
        channel
        for channel, address in (
            (Channel.SMS, contact["phone"]),
            (Channel.EMAIL, contact["email"]),
        )
        if address
    ]
    payload: dict[str, str] = {"template": template, "recipient_id": str(recipient_id)}
    if application_id is not None:
        payload["application_id"] = str(application_id)
    if certificate_id is not None:
        payload["certificate_id"] = str(certificate_id)
    if payment_id is not None:
        payload["payment_id"] = str(payment_id)
    written: list[OutboxMessage] = []
    for channel in channels:
        message = outbox_enqueue(
            kind=Kind.NOTIFICATION,
            payload={**payload, "channel": channel},
            dedupe_key=f"{dedupe_key}:{channel}" if dedupe_key else "",
        )
        if message is not None:
            written.append(message)
    return written
