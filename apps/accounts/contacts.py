"""Changing one's e-mail address or phone number: only once the new one is proven.

``contact_change_request`` sends a one-time code to the *new* address (the code is an HMAC in
the hot-key store bound to the person, the channel and that address: ``apps.accounts.codes``).
``contact_change_confirm`` checks it, then in one transaction replaces the address (verified
at once), records a ``ContactChange`` and queues, through the outbox, a notice to the *old*
address (or, when there was none, to the other address on file) so that a person whose account
was taken over learns of it. Audited in the platform trail (addresses redacted).
"""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.codes import code_check, code_new, code_store
from apps.accounts.identifiers import email_skeleton
from apps.accounts.models import ContactChange, User
from apps.audit.services import audit_record
from apps.core.errors import ConflictError, ServiceUnavailableError

logger = structlog.get_logger(__name__)

PURPOSE = "contact"
CHANNELS = ("email", "phone")
NOTICE_TEMPLATE = "contact_changed"


def _taken(channel: str, address: str, user: User) -> bool:
    if channel == "email":
        query = Q(email=address) | Q(email_skeleton=email_skeleton(address))
    else:
        query = Q(phone=address)
    return User.objects.filter(query).exclude(pk=user.pk).exists()


def _conflict() -> ConflictError:
    return ConflictError(
        _("An account already exists with this email address or phone number."),
        code="account_exists",
    )


def _checked(user: User, channel: str, address: str) -> None:
    if getattr(user, channel) == address:
        raise ConflictError(_("This is already your address."), code="address_unchanged")
    if _taken(channel, address, user):
        raise _conflict()


def _binding(user: User, channel: str, address: str) -> str:
    return f"{user.pk}|{channel}|{address}"


def contact_change_request(*, user: User, channel: str, address: str) -> None:
    """Send a code to ``address`` (normalised), the new ``channel`` address of ``user``.

    409 ``address_unchanged`` / ``account_exists``; 503 when the store is unreachable or the
    message could not be handed over. A new request replaces the pending code.
    """
    _checked(user, channel, address)
    code = code_new()
    code_store(
        purpose=PURPOSE,
        subject=f"{user.pk}|{channel}",
        binding=_binding(user, channel, address),
        code=code,
    )
    minutes = max(1, settings.OTP_TTL_SECONDS // 60)
    with translation.override(user.preferred_language):
        text = _(
            "Your Guichet code to confirm this new address is %(code)s. It expires in "
            "%(minutes)d minutes. Never share it."
        ) % {"code": code, "minutes": minutes}
        subject = _("Confirm your new Guichet address")
    try:
        if channel == "email":
            send_mail(subject, text, None, [address])
        else:
            from apps.accounts.otp import send_sms

            send_sms(address, text)
    except Exception as exc:
        logger.warning("contact_code_delivery_failed", exc_type=type(exc).__name__)
        raise ServiceUnavailableError(
            _("The code could not be sent. Please try again shortly."),
            code="otp_delivery_failed",
        ) from exc
    logger.info("contact_code_sent", channel=channel, user_id=str(user.pk))


def contact_change_confirm(*, user: User, channel: str, address: str, code: str) -> User:
    """Check the code sent to ``address`` and make it the person's ``channel`` address.

    400 ``otp_invalid`` / ``otp_attempts_exceeded`` / ``otp_expired`` (nothing changes),
    409 ``account_exists`` when someone took the address meanwhile.
    """
    _checked(user, channel, address)
    code_check(
        purpose=PURPOSE,
        subject=f"{user.pk}|{channel}",
        binding=_binding(user, channel, address),
        code=code,
    )
    try:
        with transaction.atomic():
            return _apply(user=user, channel=channel, address=address)
    except IntegrityError as exc:  # taken between the check and the save
        raise _conflict() from exc


def _apply(*, user: User, channel: str, address: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    old = getattr(user, channel)
    verified_field = f"{channel}_verified_at"
    now = timezone.now()
    setattr(user, channel, address)
    setattr(user, verified_field, now)
    user.save(update_fields=[channel, verified_field])
    change = ContactChange.objects.create(
        user=user, channel=channel, old_address=old, new_address=address, changed_at=now
    )
    audit_record(
        action=f"user.{channel}_changed",
        target_type="user",
        target_id=user.pk,
        changes={channel: {"old": "[redacted]", "new": "[redacted]"}},
        platform=True,
    )
    _notice_enqueue(user=user, change=change)
    logger.info("contact_changed", channel=channel, user_id=str(user.pk))
    return user


def _notice_enqueue(*, user: User, change: ContactChange) -> None:
    """The notice to the old address (or the other one on file), through the outbox."""
    from apps.outbox.models import Kind
    from apps.outbox.services import outbox_enqueue

    if change.old_address:
        target = "email" if change.channel == "email" else "sms"
    else:
        other = "phone" if change.channel == "email" else "email"
        if not getattr(user, other):
            return
        target = "sms" if other == "phone" else "email"
    outbox_enqueue(
        kind=Kind.NOTIFICATION,
        payload={
            "template": NOTICE_TEMPLATE,
            "recipient_id": str(user.pk),
            "channel": target,
            "contact_change_id": str(change.pk),
        },
        dedupe_key=f"contact_change:{change.pk}",
    )


def contact_notice_address(payload: dict[str, Any], recipient: User) -> str | None:
    """Where a ``contact_changed`` notice goes: the old address of the change (the current
    one would be the new address, the wrong person to warn when the account was taken)."""
    change = ContactChange.objects.filter(pk=str(payload.get("contact_change_id", ""))).first()
    if change is None or change.user_id != recipient.pk:
        return None
    channel = payload.get("channel")
    changed_channel = "sms" if change.channel == "phone" else "email"
    if channel == changed_channel:
        return change.old_address
    return recipient.phone if channel == "sms" else recipient.email
