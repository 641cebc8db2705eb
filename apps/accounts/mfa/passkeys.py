"""Passkeys (WebAuthn) for the console, with py_webauthn.

A person whose console session passed the second factor adds a passkey from "My second factor"
(``passkey_registration_options`` → the browser → ``passkey_register``); at a later sign-in,
the code step offers it (``passkey_authentication_options`` → the browser →
``passkey_verify``). The relying party is the console's host (``rp_id``): a passkey made on one
agency's console works there only. Challenges are random, single use, kept in the session.
Failed checks count in the same hot-key limit as wrong codes. Audited: ``mfa.passkey_added``.
The API's staff tokens still take a code (``amr`` ``["pwd", "otp", "mfa"]``); a console
signed in with a passkey corresponds to ``["pwd", "hwk", "mfa"]``.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from apps.accounts.mfa.attempts import (
    mfa_attempt_begin,
    mfa_attempt_failed,
    mfa_attempt_succeeded,
)
from apps.accounts.mfa.errors import MfaInvalid
from apps.accounts.mfa.models import PasskeyDevice
from apps.accounts.models import User
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.errors import InvalidInput

logger = structlog.get_logger(__name__)

AMR_PASSWORD_PASSKEY = ("pwd", "hwk", "mfa")


def _descriptors(user: User, rp_id: str) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential_id))
        for credential_id in PasskeyDevice.objects.filter(
            user=user, rp_id=rp_id, confirmed=True
        ).values_list("credential_id", flat=True)
    ]


def has_passkey(user: User, rp_id: str) -> bool:
    """Whether the person has a passkey for this console host."""
    return PasskeyDevice.objects.filter(user=user, rp_id=rp_id, confirmed=True).exists()


def passkey_registration_options(*, user: User, rp_id: str) -> tuple[str, bytes]:
    """Options for ``navigator.credentials.create`` (JSON) and their challenge."""
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=user.pk.bytes,
        user_name=user.get_username() or str(user.pk),
        user_display_name=user.get_full_name() or user.get_username() or "",
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(user, rp_id),
    )
    return options_to_json(options), options.challenge


@transaction.atomic
def passkey_register(
    *, user: User, rp_id: str, origin: str, credential: Any, challenge: bytes
) -> PasskeyDevice:
    """Check the browser's answer and keep the passkey (audited). 400 ``passkey_invalid``."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        logger.info("passkey_registration_refused", user_id=str(user.pk))
        raise InvalidInput(code="passkey_invalid") from exc
    device = PasskeyDevice.objects.create(
        user=user,
        name="passkey",
        rp_id=rp_id,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )
    audit_record(
        action="mfa.passkey_added",
        target_type="user",
        target_id=user.pk,
        changes={"host": {"old": None, "new": rp_id}},
        platform=True,
    )
    return device


def passkey_authentication_options(*, user: User, rp_id: str) -> tuple[str, bytes]:
    """Options for ``navigator.credentials.get`` (JSON) and their challenge."""
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(user, rp_id),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def passkey_verify(
    *, user: User, rp_id: str, origin: str, credential: Any, challenge: bytes
) -> PasskeyDevice:
    """Check a passkey's answer to ``challenge`` for a sign-in; counted like a code.
    401 ``mfa_invalid``; 429 ``mfa_locked``."""
    user_id = str(user.pk)
    count = mfa_attempt_begin(user_id=user_id)
    device = _passkey_check(user, rp_id, origin, credential, challenge)
    if device is None:
        left = mfa_attempt_failed(user_id=user_id, count=count)
        audit_record(
            action="mfa.failed",
            target_type="user",
            target_id=user.pk,
            changes={"method": {"old": None, "new": "passkey"}},
            outcome=Outcome.DENIED,
            platform=True,
        )
        raise MfaInvalid(extra={"attempts_left": left})
    mfa_attempt_succeeded(user_id=user_id)
    return device


def _passkey_check(
    user: User, rp_id: str, origin: str, credential: Any, challenge: bytes
) -> PasskeyDevice | None:
    try:
        raw_id = str((json.loads(credential) if isinstance(credential, str) else credential)["id"])
    except (ValueError, KeyError, TypeError):
        return None
    with transaction.atomic():
        device = (
            PasskeyDevice.objects.select_for_update()
            .filter(user=user, rp_id=rp_id, credential_id=raw_id, confirmed=True)
            .first()
        )
        if device is None:
            return None
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=bytes(device.public_key),
                credential_current_sign_count=device.sign_count,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError):
            logger.info("passkey_refused", user_id=str(user.pk))
            return None
        device.sign_count = verified.new_sign_count
        device.last_used_at = timezone.now()
        device.save(update_fields=["sign_count", "last_used_at"])
        return device
