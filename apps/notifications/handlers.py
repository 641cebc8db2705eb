"""Delivering a notification outbox message: render in the recipient's language, then send.

Runs in the delivery task, in the schema of the agency the notification belongs to. A
recipient who is gone, deactivated or has lost the address of the channel is skipped (the
message is done: there is nobody to retry for). Gateway and mail-server failures raise
``DeliveryError`` so the outbox retries them with backoff.
"""

from __future__ import annotations

import smtplib
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from apps.accounts.models import User
from apps.agencies.models import Agency
from apps.core.tenancy import current_schema
from apps.notifications.rendering import render_notification
from apps.notifications.services import Channel
from apps.notifications.sms import SMSError, get_sms_gateway
from apps.outbox.handlers import DeliveryError
from apps.outbox.models import OutboxMessage

logger = structlog.get_logger(__name__)


def notification_context(payload: dict[str, Any], recipient: User) -> dict[str, Any]:
    """What the templates may use: the recipient, the agency, the application, the certificate."""
    from apps.applications.models import Application
    from apps.certificates.models import Certificate
    from apps.certificates.selectors import certificate_verify_url

    context: dict[str, Any] = {
        "recipient": recipient,
        "agency": Agency.objects.filter(schema_name=current_schema()).first(),
    }
    if payload.get("application_id"):
        context["application"] = (
            Application.objects.select_related("service")
            .filter(pk=payload["application_id"])
            .first()
        )
    if payload.get("certificate_id"):
        certificate = Certificate.objects.filter(pk=payload["certificate_id"]).first()
        context["certificate"] = certificate
        if certificate is not None:
            context["verify_url"] = certificate_verify_url(certificate)
    return context


def notification_deliver(message: OutboxMessage) -> None:
    """Send one notification message (one channel)."""
    payload = message.payload
    channel = payload.get("channel")
    recipient = User.objects.filter(pk=payload.get("recipient_id"), is_active=True).first()
    address = None
    if recipient is not None:
        address = recipient.phone if channel == Channel.SMS else recipient.email
    if recipient is None or not address:
        logger.info("notification_skipped", template=payload.get("template"), channel=channel)
        return
    rendered = render_notification(
        template=payload["template"],
        preferred_language=recipient.preferred_language,
        context=notification_context(payload, recipient),
    )
    if channel == Channel.SMS:
        try:
            get_sms_gateway().send(to=address, body=rendered.sms, message_id=str(message.pk))
        except SMSError as exc:
            raise DeliveryError(str(exc), permanent=exc.permanent) from exc
    elif channel == Channel.EMAIL:
        email = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers={"X-Guichet-Message-Id": str(message.pk)},
        )
        try:
            email.send()
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"mail server: {exc.__class__.__name__}") from exc
    else:
        raise DeliveryError(f"unknown channel {channel!r}", permanent=True)
    logger.info(
        "notification_sent",
        template=payload["template"],
        channel=channel,
        language=rendered.language,
    )
