"""One-time codes that verify a person's email address or phone number.

``otp_request`` sends a 6-digit code to the address on file; ``otp_confirm`` checks it and
marks the address verified (``User.email_verified_at`` / ``phone_verified_at``, audited).

The code never rests anywhere in clear: the hot-key store holds
``HMAC-SHA256(server key, user | channel | address | code)`` under
``hot_key("public", "otp", user_id, channel)`` for ``OTP_TTL_SECONDS`` (default 10 min), next
to an attempts counter. Binding the address into the MAC means a code stops working if the
address changes. Comparison is constant-time. After ``OTP_MAX_ATTEMPTS`` wrong codes (default
5) the code is burned and a new one must be requested; requests are throttled per person
(scope ``verify``). The code is never logged, never written to PostgreSQL or the broker: it is
handed to the mailer or the SMS gateway in the request itself (for the same reason it does not
go through the transactional outbox, which stores message bodies).

Fails closed: the store unreachable means 503 ``service_unavailable``, never a code accepted
without a check.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from enum import StrEnum

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from apps.accounts.models import User
from apps.audit.services import audit_record
from apps.core.errors import ConflictError, InvalidInput, ServiceUnavailableError
from apps.hotkeys.base import HotKeyTransaction, StoreUnavailable, pack_counter
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)

NAMESPACE = "otp"
CODE_DIGITS = 6


class Channel(StrEnum):
    """Where a code is sent: the person's email address or phone number."""

    EMAIL = "email"
    PHONE = "phone"


def send_sms(to: str, text: str) -> None:
    """Send one text message now (``settings.SMS_BACKEND``: a file under var/sms by default).

    The single entry point for one-time codes; raises ``apps.notifications.sms.SMSError``.
    """
    from apps.notifications.sms import get_sms_gateway

    get_sms_gateway().send(to=to, body=text, message_id=str(uuid.uuid4()))


def _address(user: User, channel: Channel) -> str | None:
    return user.email if channel is Channel.EMAIL else user.phone


def _verified_field(channel: Channel) -> str:
    return "email_verified_at" if channel is Channel.EMAIL else "phone_verified_at"


def _keys(user: User, channel: Channel) -> tuple[bytes, bytes]:
    schema = get_public_schema_name()
    return (
        hot_key(schema, NAMESPACE, str(user.pk), str(channel), "code"),
        hot_key(schema, NAMESPACE, str(user.pk), str(channel), "attempts"),
    )


def _mac(user: User, channel: Channel, address: str, code: str) -> bytes:
    secret = settings.OTP_SECRET_KEY or settings.SECRET_KEY
    message = f"{user.pk}|{channel}|{address}|{code}"
    return salted_hmac("guichet.otp", message, secret=secret, algorithm="sha256").digest()


def _checked_address(user: User, channel: Channel) -> str:
    address = _address(user, channel)
    if not address:
        raise InvalidInput(
            _("There is no address of this kind on your account."),
            code="channel_unavailable",
            errors={"channel": [_("There is no address of this kind on your account.")]},
        )
    if getattr(user, _verified_field(channel)) is not None:
        raise ConflictError(_("This address is already verified."), code="already_verified")
    return address


def _deliver(user: User, channel: Channel, address: str, code: str) -> None:
    minutes = max(1, settings.OTP_TTL_SECONDS // 60)
    with translation.override(user.preferred_language):
        text = _(
            "Your Guichet verification code is %(code)s. It expires in %(minutes)d minutes. "
            "Never share it."
        ) % {"code": code, "minutes": minutes}
        subject = _("Your Guichet verification code")
    if channel is Channel.EMAIL:
        send_mail(subject, text, None, [address])
    else:
        send_sms(address, text)


def otp_request(*, user: User, channel: str) -> None:
    """Send a new code to the person's ``channel`` address; any previous code stops working.

    400 ``channel_unavailable`` without such an address, 409 ``already_verified``, 503 when
    the store is unreachable or the message could not be handed over.
    """
    kind = Channel(channel)
    address = _checked_address(user, kind)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    code_key, attempts_key = _keys(user, kind)
    ttl = settings.OTP_TTL_SECONDS

    def store_code(tx: HotKeyTransaction) -> None:
        tx.set(code_key, _mac(user, kind, address, code), ttl=ttl)
        tx.set(attempts_key, pack_counter(0), ttl=ttl)

    try:
        get_store().transaction(store_code)
    except StoreUnavailable as exc:
        logger.warning("otp_store_unavailable")
        raise ServiceUnavailableError() from exc
    try:
        _deliver(user, kind, address, code)
    except Exception as exc:  # SMTP or SMS gateway: the code is useless, say so
        logger.warning("otp_delivery_failed", channel=str(kind), exc_type=type(exc).__name__)
        raise ServiceUnavailableError(
            _("The code could not be sent. Please try again shortly."),
            code="otp_delivery_failed",
        ) from exc
    logger.info("otp_sent", channel=str(kind), user_id=str(user.pk))


class _Outcome(StrEnum):
    OK = "ok"
    NONE = "none"
    WRONG = "wrong"
    BURNED = "burned"


def otp_confirm(*, user: User, channel: str, code: str) -> User:
    """Check ``code`` and mark the ``channel`` address verified (audited).

    400 ``otp_expired`` when no code is pending, ``otp_invalid`` for a wrong code (with
    ``attempts_left``), ``otp_attempts_exceeded`` once the code is burned; 503 when the
    store is unreachable.
    """
    kind = Channel(channel)
    address = _checked_address(user, kind)
    code_key, attempts_key = _keys(user, kind)
    candidate = _mac(user, kind, address, code)
    limit = settings.OTP_MAX_ATTEMPTS

    def check(tx: HotKeyTransaction) -> tuple[_Outcome, int]:
        stored = tx.get(code_key)
        if stored is None:
            return _Outcome.NONE, 0
        attempts = tx.add(attempts_key, 1, ttl=settings.OTP_TTL_SECONDS)
        if hmac.compare_digest(stored, candidate) and attempts <= limit:
            tx.delete(code_key)
            tx.delete(attempts_key)
            return _Outcome.OK, 0
        if attempts >= limit:
            tx.delete(code_key)
            tx.delete(attempts_key)
            return _Outcome.BURNED, 0
        return _Outcome.WRONG, limit - attempts

    try:
        outcome, left = get_store().transaction(check)
    except StoreUnavailable as exc:
        logger.warning("otp_store_unavailable")
        raise ServiceUnavailableError() from exc
    if outcome is _Outcome.NONE:
        raise InvalidInput(
            _("No code is pending: request a new one."),
            code="otp_expired",
            errors={"code": [_("No code is pending: request a new one.")]},
        )
    if outcome is _Outcome.BURNED:
        logger.info("otp_burned", channel=str(kind), user_id=str(user.pk))
        raise InvalidInput(
            _("Too many wrong codes: request a new one."),
            code="otp_attempts_exceeded",
            errors={"code": [_("Too many wrong codes: request a new one.")]},
        )
    if outcome is _Outcome.WRONG:
        raise InvalidInput(
            _("The code is wrong."),
            code="otp_invalid",
            errors={"code": [_("The code is wrong.")]},
            extra={"attempts_left": left},
        )
    return _mark_verified(user=user, channel=kind)


@transaction.atomic
def _mark_verified(*, user: User, channel: Channel) -> User:
    field = _verified_field(channel)
    now = timezone.now()
    setattr(user, field, now)
    user.save(update_fields=[field])
    audit_record(
        action=f"user.{channel}_verified",
        target_type="user",
        target_id=user.pk,
        changes={field: {"old": None, "new": now.isoformat()}},
        platform=True,
    )
    logger.info("contact_verified", channel=str(channel), user_id=str(user.pk))
    return user
