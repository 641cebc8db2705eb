"""Delivering a notification outbox message: render in the recipient's language, then send.

Runs in the delivery task, in the schema of the agency the notification belongs to. A
recipient who is gone, deactivated or has lost the address of the channel is skipped (the
message is done: there is nobody to retry for). Gateway and mail-server failures raise
``DeliveryError`` so the outbox retries them with backoff.

Each message carries a stable id to its provider (the SMS client reference, the e-mail
``Message-ID``); after an interrupted attempt ``notification_check`` asks whether the provider
has it before anything is sent again (``apps.outbox.handlers``).
"""

from __future__ import annotations

import smtplib
from email.utils import parseaddr
from pathlib import Path
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
from apps.outbox.handlers import DeliveryError, Verdict
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
        if payload.get("contact_change_id"):  # the old address, not the new one
            from apps.accounts.contacts import contact_notice_address

            address = contact_notice_address(payload, recipient)
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
            raise DeliveryError(str(exc), permanent=exc.permanent, in_doubt=exc.in_doubt) from exc
    elif channel == Channel.EMAIL:
        email = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers={
                "Message-ID": email_message_id(message),
                "X-Guichet-Message-Id": str(message.pk),
            },
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


def email_message_id(message: OutboxMessage) -> str:
    """The ``Message-ID`` of a notification e-mail: the same for every attempt of a message,
    so a repeat after an interrupted attempt can be recognised and dropped by mail stores."""
    domain = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1].rpartition("@")[2] or "guichet"
    return f"<{message.pk}@{domain}>"


def email_was_sent(message_id_header: str) -> bool | None:
    """Whether the configured e-mail backend has this ``Message-ID`` already (None: cannot
    tell, as with SMTP). Development and test backends keep what they sent."""
    backend = str(settings.EMAIL_BACKEND)
    if backend.endswith("locmem.EmailBackend"):
        from django.core import mail

        sent = getattr(mail, "outbox", [])
        return any(m.extra_headers.get("Message-ID") == message_id_header for m in sent)
    if backend.endswith("filebased.EmailBackend"):
        folder = Path(str(getattr(settings, "EMAIL_FILE_PATH", "")))
        if not folder.is_dir():
            return False
        needle = f"Message-ID: {message_id_header}".encode()
        return any(needle in path.read_bytes() for path in folder.glob("*.log"))
    return None


def notification_check(message: OutboxMessage) -> str:
    """After an interrupted attempt: does the provider have this notification already?

    SMS: the gateway's answer by client reference (``UNKNOWN`` when it cannot tell: never sent
    twice). E-mail: the backend's answer when it keeps what it sent, otherwise ``REPEAT``: the
    same ``Message-ID`` is sent again and the receiving mail store drops the repeat.
    """
    channel = message.payload.get("channel")
    if channel == Channel.SMS:
        try:
            found = get_sms_gateway().was_sent(message_id=str(message.pk))
        except SMSError as exc:
            raise DeliveryError(str(exc), in_doubt=True) from exc
        if found is None:
            return Verdict.UNKNOWN
    elif channel == Channel.EMAIL:
        found = email_was_sent(email_message_id(message))
        if found is None:
            return Verdict.REPEAT
    else:
        return Verdict.REPEAT  # the handler dead-letters an unknown channel
    return Verdict.DELIVERED if found else Verdict.NOT_DELIVERED
