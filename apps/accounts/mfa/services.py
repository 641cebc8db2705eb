"""Writes and checks of the second factor: enrolment, verification, recovery codes, reset.

Staff and platform administrators enrol a TOTP authenticator (django-otp's ``TOTPDevice``) at
their first console sign-in: ``totp_enrolment_begin`` makes an unconfirmed device with a fresh
secret (shown once, as a QR code), ``totp_enrolment_confirm`` confirms it with a first code
and returns ten recovery codes, shown once and stored hashed. ``second_factor_verify`` checks
an authenticator code or a recovery code for a sign-in, counted in the hot-key store
(``attempts``). ``second_factor_reset`` removes a person's devices when theirs is lost: an
agency admin of the same agency for its other staff, a platform administrator for anyone.
Everything that changes state is audited in the same transaction.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import get_public_schema_name

from apps.accounts.mfa.attempts import (
    mfa_attempt_begin,
    mfa_attempt_failed,
    mfa_attempt_succeeded,
)
from apps.accounts.mfa.errors import MfaAlreadyEnrolled as MfaAlreadyEnrolled
from apps.accounts.mfa.errors import MfaEnrolmentRequired as MfaEnrolmentRequired
from apps.accounts.mfa.errors import MfaInvalid as MfaInvalid
from apps.accounts.mfa.errors import MfaRequired as MfaRequired
from apps.accounts.mfa.errors import MfaTokenInvalid as MfaTokenInvalid
from apps.accounts.mfa.models import (
    RECOVERY_CODE_ALPHABET,
    PasskeyDevice,
    RecoveryCode,
    RecoveryCodeDevice,
    recovery_code_hash,
)
from apps.accounts.models import Membership, Role, User
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.errors import NotFoundError, PermissionDeniedError
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)

# RFC 8176 authentication method references carried by person tokens (``amr`` claim).
AMR_PASSWORD = ("pwd",)
# Password + one-time password (authenticator or recovery code): multiple factors.
AMR_PASSWORD_OTP = ("pwd", "otp", "mfa")
RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery codes"


def totp_device_of(user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    """Whether the person has enrolled an authenticator."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes the person has."""
    return RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).count()


@transaction.atomic
def totp_enrolment_begin(*, user: User) -> TOTPDevice:
    """A new unconfirmed authenticator with a fresh secret, replacing any earlier unconfirmed
    one (the secret of a page shown before is void). 409 ``mfa_already_enrolled`` when the
    person has a confirmed one: only a reset removes it."""
    if has_second_factor(user):
        raise MfaAlreadyEnrolled()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def _recovery_code_new() -> str:
    raw = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _recovery_codes_replace(user: User) -> list[str]:
    """Ten new recovery codes; the earlier ones stop working. Only hashes are stored."""
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = _recovery_code_new()
        if code not in codes:
            codes.append(code)
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(device=device, code_hash=recovery_code_hash(code)) for code in codes]
    )
    return codes


def _checked(user: User, check: Any) -> Any:
    """Run ``check`` (returns a device or None) under the person's attempt limit."""
    user_id = str(user.pk)
    count = mfa_attempt_begin(user_id=user_id)
    device = check()
    if device is None:
        left = mfa_attempt_failed(user_id=user_id, count=count)
        audit_record(
            action="mfa.failed",
            target_type="user",
            target_id=user.pk,
            outcome=Outcome.DENIED,
            platform=True,
        )
        raise MfaInvalid(
            errors={"otp": [_("The code is wrong, expired or already used.")]},
            extra={"attempts_left": left},
        )
    mfa_attempt_succeeded(user_id=user_id)
    return device


def totp_enrolment_confirm(
    *, user: User, device_id: int, code: str
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the unconfirmed authenticator ``device_id`` with its first code; returns it
    with ten new recovery codes (to show once). Wrong code: 401 ``mfa_invalid``, counted."""

    def check() -> TOTPDevice | None:
        with transaction.atomic():
            device = (
                TOTPDevice.objects.select_for_update()
                .filter(pk=device_id, user=user, confirmed=False)
                .first()
            )
            if device is None or not device.verify_token(code.strip()):
                return None
            return device

    if has_second_factor(user):
        raise MfaAlreadyEnrolled()
    device = _checked(user, check)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        codes = _recovery_codes_replace(user)
        audit_record(
            action="mfa.enrolled",
            target_type="user",
            target_id=user.pk,
            changes={"method": {"old": None, "new": "totp"}},
            platform=True,
        )
    logger.info("mfa_enrolled", user_id=str(user.pk))
    return device, codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Ten new recovery codes for a person who passed their second factor (audited)."""
    codes = _recovery_codes_replace(user)
    audit_record(
        action="mfa.recovery_codes_regenerated",
        target_type="user",
        target_id=user.pk,
        platform=True,
    )
    return codes


@dataclass(frozen=True)
class Verification:
    """A passed second factor: the device that accepted the code and the ``amr`` it earns."""

    device: Device
    amr: tuple[str, ...]
    recovery_code: bool


def second_factor_verify(*, user: User, code: str) -> Verification:
    """Check an authenticator code (6 digits) or a recovery code (single use).

    401 ``mfa_invalid`` with ``attempts_left``; 429 ``mfa_locked`` once the person reached
    ``MFA_MAX_FAILURES`` within the window; 503 when the hot-key store is down. A TOTP code is
    accepted once (django-otp keeps the last time step, under a row lock here). Using a
    recovery code is audited (``mfa.recovery_code_used``).
    """
    candidate = (code or "").strip()
    is_totp = candidate.isdigit() and len(candidate) in (6, 8)

    def check() -> Device | None:
        with transaction.atomic():
            if is_totp:
                device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
                found = device.first()
                return found if found is not None and found.verify_token(candidate) else None
            recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
            if recovery is None or not recovery.verify_token(candidate):
                return None
            audit_record(
                action="mfa.recovery_code_used",
                target_type="user",
                target_id=user.pk,
                changes={"codes_left": {"old": None, "new": recovery.codes_left()}},
                platform=True,
            )
            return recovery

    device = _checked(user, check)
    return Verification(device=device, amr=AMR_PASSWORD_OTP, recovery_code=not is_totp)


def _actor_may_reset(actor: User, target: User, schema: str) -> bool:
    """Agency host: an agency admin of this agency, for a member of it who is neither an
    agency admin nor a platform administrator. Public host: a platform administrator."""
    if schema == get_public_schema_name():
        return bool(actor.is_superuser)
    if not Membership.objects.filter(
        user=actor, agency__schema_name=schema, role=Role.AGENCY_ADMIN, is_active=True
    ).exists():
        return False
    if target.is_superuser:
        return False
    return not Membership.objects.filter(
        user=target, agency__schema_name=schema, role=Role.AGENCY_ADMIN
    ).exists()


def second_factor_target_get(*, actor: User, user_id: Any) -> User:
    """The person whose second factor ``actor`` may see or reset on this host.

    404 ``not_found`` when the person is not staff of this agency (never a hint that they
    exist elsewhere); 403 ``mfa_reset_not_allowed`` when they are but ``actor`` may not reset
    them (an agency admin resetting another agency admin, or themselves)."""
    schema = current_schema()
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise NotFoundError()
    if (
        schema != get_public_schema_name()
        and not Membership.objects.filter(user=target, agency__schema_name=schema).exists()
    ):
        raise NotFoundError()
    if target.pk == actor.pk or not _actor_may_reset(actor, target, schema):
        raise PermissionDeniedError(
            _("You may not reset this person's second factor."), code="mfa_reset_not_allowed"
        )
    return target


@transaction.atomic
def second_factor_reset(*, actor: User, user_id: Any) -> User:
    """Remove every second-factor device of a person who lost theirs (audited in the agency's
    trail, or the platform's on the public host). Their sessions end: API tokens are revoked
    and a console session loses its verification; the next console sign-in enrols again.

    The caller has passed their own second factor (a verified console session, a token whose
    ``amr`` says so: enforced by the console and the token authentication)."""
    from apps.accounts.services import user_tokens_revoke_all

    target = second_factor_target_get(actor=actor, user_id=user_id)
    removed = TOTPDevice.objects.filter(user=target, confirmed=True).count()
    removed += RecoveryCodeDevice.objects.filter(user=target).count()
    removed += PasskeyDevice.objects.filter(user=target).count()
    TOTPDevice.objects.filter(user=target).delete()
    RecoveryCodeDevice.objects.filter(user=target).delete()
    PasskeyDevice.objects.filter(user=target).delete()
    # One second ahead: the marker has a one-second resolution, and a token issued in this
    # very second must end too.
    user_tokens_revoke_all(user=target, at=time.time() + 1)
    audit_record(
        action="mfa.reset",
        target_type="user",
        target_id=target.pk,
        changes={"devices": {"old": removed, "new": 0}},
        platform=current_schema() == get_public_schema_name(),
    )
    logger.info("mfa_reset", user_id=str(target.pk), by=str(actor.pk))
    return target
