"""One-time codes kept as HMACs in the hot-key store (password reset, contact changes).

The same pattern as ``apps.accounts.otp``: a 6-digit code is drawn, only
``HMAC-SHA256(server key, purpose | binding | code)`` is stored under a hot key of the public
schema for ``OTP_TTL_SECONDS``, next to an attempts counter. ``binding`` ties the code to what
it unlocks (a login, a new address), so a code for one thing never opens another. The check is
constant-time; after ``OTP_MAX_ATTEMPTS`` wrong codes the code is burned. Fails closed: the
store unreachable raises ``ServiceUnavailableError`` (503), never a code accepted unchecked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

import structlog
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from apps.core.errors import InvalidInput, ServiceUnavailableError
from apps.hotkeys.base import HotKeyTransaction, StoreUnavailable, pack_counter
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)

CODE_DIGITS = 6


def code_new() -> str:
    """A fresh random code of ``CODE_DIGITS`` digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def subject_digest(value: str) -> str:
    """A stable digest of a login or address, used in hot keys instead of the value itself
    (the store's keys are not a place for personal data)."""
    secret = settings.OTP_SECRET_KEY or settings.SECRET_KEY
    return salted_hmac(
        "guichet.codes.subject", value, secret=secret, algorithm="sha256"
    ).hexdigest()


def _keys(purpose: str, subject: str) -> tuple[bytes, bytes, bytes]:
    schema = get_public_schema_name()
    return (
        hot_key(schema, purpose, subject, "code"),
        hot_key(schema, purpose, subject, "attempts"),
        hot_key(schema, purpose, subject, "sends"),
    )


def _mac(purpose: str, binding: str, code: str) -> bytes:
    secret = settings.OTP_SECRET_KEY or settings.SECRET_KEY
    return salted_hmac(
        f"guichet.codes.{purpose}", f"{binding}|{code}", secret=secret, algorithm="sha256"
    ).digest()


def code_store(
    *, purpose: str, subject: str, binding: str, code: str, max_sends: int | None = None
) -> bool:
    """Store ``code`` for ``subject`` (replacing any pending one) and reset its attempts.

    With ``max_sends``, at most that many codes per subject per ``OTP_TTL_SECONDS`` window:
    beyond it nothing is replaced and False is returned (the caller sends nothing, and
    answers as usual). Raises ``ServiceUnavailableError`` when the store is unreachable.
    """
    code_key, attempts_key, sends_key = _keys(purpose, subject)
    ttl = settings.OTP_TTL_SECONDS

    def store(tx: HotKeyTransaction) -> bool:
        if max_sends is not None:
            sends = tx.add(sends_key, 1, ttl=ttl)
            if sends > max_sends:
                return False
        tx.set(code_key, _mac(purpose, binding, code), ttl=ttl)
        tx.set(attempts_key, pack_counter(0), ttl=ttl)
        return True

    try:
        return bool(get_store().transaction(store))
    except StoreUnavailable as exc:
        logger.warning("code_store_unavailable", purpose=purpose)
        raise ServiceUnavailableError() from exc


class CodeOutcome(StrEnum):
    """What a check found."""

    OK = "ok"
    NONE = "none"
    WRONG = "wrong"
    BURNED = "burned"


def code_check(*, purpose: str, subject: str, binding: str, code: str) -> None:
    """Check ``code`` for ``subject``; consumed when right.

    400 ``otp_expired`` when none is pending, ``otp_invalid`` (with ``attempts_left``) when
    wrong, ``otp_attempts_exceeded`` once burned; 503 when the store is unreachable.
    """
    code_key, attempts_key, _sends = _keys(purpose, subject)
    candidate = _mac(purpose, binding, code)
    limit = settings.OTP_MAX_ATTEMPTS

    def check(tx: HotKeyTransaction) -> tuple[CodeOutcome, int]:
        stored = tx.get(code_key)
        if stored is None:
            return CodeOutcome.NONE, 0
        attempts = tx.add(attempts_key, 1, ttl=settings.OTP_TTL_SECONDS)
        if hmac.compare_digest(stored, candidate) and attempts <= limit:
            tx.delete(code_key)
            tx.delete(attempts_key)
            return CodeOutcome.OK, 0
        if attempts >= limit:
            tx.delete(code_key)
            tx.delete(attempts_key)
            return CodeOutcome.BURNED, 0
        return CodeOutcome.WRONG, limit - attempts

    try:
        outcome, left = get_store().transaction(check)
    except StoreUnavailable as exc:
        logger.warning("code_store_unavailable", purpose=purpose)
        raise ServiceUnavailableError() from exc
    if outcome is CodeOutcome.NONE:
        raise InvalidInput(
            _("No code is pending: request a new one."),
            code="otp_expired",
            errors={"code": [_("No code is pending: request a new one.")]},
        )
    if outcome is CodeOutcome.BURNED:
        raise InvalidInput(
            _("Too many wrong codes: request a new one."),
            code="otp_attempts_exceeded",
            errors={"code": [_("Too many wrong codes: request a new one.")]},
        )
    if outcome is CodeOutcome.WRONG:
        raise InvalidInput(
            _("The code is wrong."),
            code="otp_invalid",
            errors={"code": [_("The code is wrong.")]},
            extra={"attempts_left": left},
        )


def token_digest(token: str) -> str:
    """SHA-256 of a link token (what the database keeps instead of the token)."""
    return hashlib.sha256(token.encode()).hexdigest()
