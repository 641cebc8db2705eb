"""Writes on identities: sign-up, profile, sign-in, logout, memberships.

Refresh rotation is in ``apps.accounts.refresh``; partner clients in ``apps.accounts.partners``
(re-exported here).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import denylist, lockout
from apps.accounts.devices import device_token_issue
from apps.accounts.identifiers import email_skeleton
from apps.accounts.models import Membership, User
from apps.accounts.partners import (  # re-exported: callers keep importing them from here
    partner_client_create as partner_client_create,
)
from apps.accounts.partners import (
    partner_token_obtain as partner_token_obtain,
)
from apps.accounts.tokens import (
    SECOND_FACTOR_KINDS,
    IssuedTokens,
    TokenKind,
    amr_has_second_factor,
    issue_staff_access_token,
    issue_user_tokens,
)
from apps.agencies.models import Agency
from apps.audit.models import Outcome
from apps.audit.services import audit_changes, audit_record
from apps.core.context import bind_actor, get_context
from apps.core.errors import (
    ConflictError,
    InvalidInput,
    NotAuthenticatedError,
    PermissionDeniedError,
)
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)


class InvalidCredentials(NotAuthenticatedError):
    """Wrong login or password; the message never says which."""

    code = "invalid_credentials"


def _password_errors(password: str, user: User) -> dict[str, list[str]] | None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {"password": [str(m) for m in exc.messages]}
    return None


@transaction.atomic
def user_register(
    *,
    password: str,
    email: str | None = None,
    phone: str | None = None,
    first_name: str = "",
    last_name: str = "",
    preferred_language: str = "fr",
) -> User:
    """Sign a citizen up with an email address and/or a phone number (already normalised).

    An address that only looks like an existing one (same ``email_skeleton``) is refused like
    the same address: 409 ``account_exists``.
    """
    if not email and not phone:
        raise InvalidInput(
            _("Give an email address or a phone number."),
            errors={"non_field_errors": [_("Give an email address or a phone number.")]},
        )
    user = User(
        email=email or None,
        phone=phone or None,
        first_name=first_name,
        last_name=last_name,
        preferred_language=preferred_language,
    )
    errors = _password_errors(password, user)
    if errors:
        raise InvalidInput(errors=errors)
    if (
        email
        and User.objects.filter(Q(email=email) | Q(email_skeleton=email_skeleton(email))).exists()
    ) or (phone and User.objects.filter(phone=phone).exists()):
        raise ConflictError(
            _("An account already exists with this email address or phone number."),
            code="account_exists",
        )
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent sign-up with the same identifier
        raise ConflictError(
            _("An account already exists with this email address or phone number."),
            code="account_exists",
        ) from exc
    bind_actor(actor_type="user", actor_id=str(user.id), actor_role=str(TokenKind.CITIZEN))
    audit_record(
        action="user.registered",
        target_type="user",
        target_id=user.id,
        changes=audit_changes(
            before={},
            after={"email": email, "phone": phone, "preferred_language": preferred_language},
            redact=User.AUDIT_REDACTED_FIELDS,
        ),
        platform=True,
    )
    logger.info("user_registered", user_id=str(user.id))
    return user


@transaction.atomic
def user_update_profile(*, user: User, data: dict[str, Any]) -> User:
    """Change a person's names or preferred language."""
    allowed = {"first_name", "last_name", "preferred_language"}
    fields = sorted(set(data) & allowed)
    before = {name: getattr(user, name) for name in fields}
    for name in fields:
        setattr(user, name, data[name])
    changes = audit_changes(before=before, after=data, redact=User.AUDIT_REDACTED_FIELDS)
    if not changes:
        return user
    user.save(update_fields=fields)
    audit_record(
        action="user.profile_updated",
        target_type="user",
        target_id=user.id,
        changes=changes,
        platform=True,
    )
    return user


def _active_membership(user: User, schema: str) -> Membership | None:
    return (
        Membership.objects.select_related("agency")
        .filter(user=user, agency__schema_name=schema, is_active=True, agency__is_active=True)
        .first()
    )


def token_obtain(
    *,
    request: HttpRequest | None,
    login: str,
    password: str,
    portal: str,
    device_token: str | None = None,
    otp: str | None = None,
) -> IssuedTokens:
    """Sign a person in and issue tokens of the kind the portal asks for.

    ``citizen`` tokens work on every agency; ``staff`` tokens need a membership of the agency
    whose host was called and are bound to it; ``platform`` tokens need a platform
    administrator on the public host. Failures are audited in the platform trail.

    Staff and platform sign-ins need a second factor (``apps.accounts.mfa``): ``otp`` (an
    authenticator code or a recovery code) in the same request, or else 403 ``mfa_required``
    carrying an ``mfa_token`` to exchange with a code (``token_obtain_second_factor``);
    403 ``mfa_enrolment_required`` for a person who has not enrolled yet (in the console).

    Locked accounts and sources are refused (429) before the password is checked; see
    ``apps.accounts.lockout``. The lockout store being down answers 503. ``device_token``
    (returned by an earlier successful sign-in on this device) keeps this device signing in
    while the account is under attack elsewhere; a fresh one is returned on success.
    """
    from apps.accounts.mfa import challenge as mfa_challenge
    from apps.accounts.mfa import services as mfa

    attempt = lockout.login_attempt_begin(
        login=login, source=get_context().ip, device_token=device_token
    )
    user = authenticate(request, login=login, password=password)
    if user is None:
        lockout.login_attempt_failed(attempt)
        audit_record(action="auth.login", outcome=Outcome.DENIED, platform=True)
        raise InvalidCredentials(_("The login or the password is wrong."))
    assert isinstance(user, User)
    lockout.login_attempt_succeeded(attempt)
    kind = TokenKind(portal)
    role, agency = _token_binding(user, kind)
    amr: tuple[str, ...] = mfa.AMR_PASSWORD
    if kind in SECOND_FACTOR_KINDS:
        if not mfa.has_second_factor(user):
            raise mfa.MfaEnrolmentRequired()
        if not otp:
            token, ttl = mfa_challenge.challenge_issue(
                mfa_challenge.PendingSignIn(
                    user_id=str(user.pk),
                    kind=str(kind),
                    schema=current_schema(),
                    device_id=attempt.device_id,
                )
            )
            raise mfa.MfaRequired(
                extra={"mfa_token": token, "expires_in": ttl, "methods": ["totp", "recovery_code"]}
            )
        amr = mfa.second_factor_verify(user=user, code=otp).amr
    return _tokens_issue(
        user=user, kind=kind, role=role, agency=agency, amr=amr, device_id=attempt.device_id
    )


def _token_binding(user: User, kind: TokenKind) -> tuple[str | None, str | None]:
    """The role and agency schema a token of ``kind`` carries for ``user`` on this host;
    403 (audited) when the person may not have such a token here."""
    schema = current_schema()
    if kind is TokenKind.STAFF:
        membership = _active_membership(user, schema)
        if membership is None:
            audit_record(
                action="auth.login",
                target_type="user",
                target_id=user.id,
                outcome=Outcome.DENIED,
                platform=True,
            )
            raise PermissionDeniedError(
                _("You are not a member of this agency's staff."), code="not_agency_staff"
            )
        return membership.role, schema
    if kind is TokenKind.PLATFORM:
        if not user.is_superuser or schema != get_public_schema_name():
            audit_record(
                action="auth.login",
                target_type="user",
                target_id=user.id,
                outcome=Outcome.DENIED,
                platform=True,
            )
            raise PermissionDeniedError(
                _("Platform administration is not open to this account here."),
                code="not_platform_admin",
            )
        return None, schema
    return None, None


def _tokens_issue(
    *,
    user: User,
    kind: TokenKind,
    role: str | None,
    agency: str | None,
    amr: tuple[str, ...],
    device_id: str | None,
) -> IssuedTokens:
    bind_actor(actor_type="user", actor_id=str(user.id), actor_role=role or str(kind))
    with transaction.atomic():
        tokens = issue_user_tokens(user=user, kind=kind, agency=agency, role=role, amr=amr)
        audit_record(
            action="auth.login",
            target_type="user",
            target_id=user.id,
            changes={
                "kind": {"old": None, "new": str(kind)},
                "amr": {"old": None, "new": list(amr)},
            },
            platform=True,
        )
    return dataclasses.replace(
        tokens,
        device_token=device_token_issue(
            user_id=str(user.pk), password_hash=user.password, device_id=device_id
        ),
    )


def console_session_token_issue(*, user: User, amr: tuple[str, ...]) -> IssuedTokens:
    """A short-lived staff access token (no refresh token) for a console session.

    For the console's pages that open the real-time gateway (``apps.realtime.console``). The
    caller has checked that the session passed its second factor and passes its ``amr``; this
    checks the membership of the host's agency again (403 ``not_agency_staff``, audited; 403
    ``mfa_required`` without ``mfa`` in ``amr``) and
    audits the issue (``auth.console_token``). Lifetime: ``REALTIME_CONSOLE_TOKEN_LIFETIME``.
    """
    if not amr_has_second_factor(list(amr)):
        audit_record(
            action="auth.console_token",
            target_type="user",
            target_id=user.id,
            outcome=Outcome.DENIED,
            platform=True,
        )
        raise PermissionDeniedError(
            _("A second factor is required: sign in again with your authenticator code."),
            code="mfa_required",
        )
    # Not a member of this host's agency (the public host has none): 403, audited.
    role, agency = _token_binding(user, TokenKind.STAFF)
    assert role is not None
    assert agency is not None
    bind_actor(actor_type="user", actor_id=str(user.id), actor_role=role)
    with transaction.atomic():
        tokens = issue_staff_access_token(
            user=user,
            agency=agency,
            role=role,
            amr=amr,
            lifetime=settings.REALTIME_CONSOLE_TOKEN_LIFETIME,
        )
        audit_record(
            action="auth.console_token",
            target_type="user",
            target_id=user.id,
            changes={"amr": {"old": None, "new": list(amr)}},
            platform=True,
        )
    return tokens


def token_obtain_second_factor(*, mfa_token: str, otp: str) -> IssuedTokens:
    """Second step of a staff or platform sign-in: exchange the ``mfa_token`` that the token
    endpoint returned with ``mfa_required`` and a code for tokens.

    401 ``mfa_token_invalid`` when the step is unknown, expired, spent or from another host;
    401 ``mfa_invalid`` for a wrong code (the step stays open for another try); 429
    ``mfa_locked``. The membership is checked again.
    """
    from apps.accounts.mfa import challenge as mfa_challenge
    from apps.accounts.mfa import services as mfa

    pending = mfa_challenge.challenge_read(mfa_token, schema=current_schema())
    user = (
        User.objects.filter(pk=pending.user_id, is_active=True).first()
        if pending is not None
        else None
    )
    if pending is None or user is None:
        raise mfa.MfaTokenInvalid()
    kind = TokenKind(pending.kind)
    role, agency = _token_binding(user, kind)
    amr = mfa.second_factor_verify(user=user, code=otp).amr
    mfa_challenge.challenge_spend(mfa_token)
    return _tokens_issue(
        user=user, kind=kind, role=role, agency=agency, amr=amr, device_id=pending.device_id
    )


def _refresh_token(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise NotAuthenticatedError(
            _("The refresh token is invalid, expired or revoked."), code="token_invalid"
        ) from exc


@transaction.atomic
def token_revoke(
    *,
    user: User,
    raw_refresh: str,
    access_jti: str | None = None,
    access_exp: int | float | None = None,
) -> None:
    """Log out: blacklist the refresh token (it must belong to the caller) and denylist the
    access token used for the call (``jti``/``exp``) until it expires.

    The denylist is written first: if the hot-key store is down this raises
    ``StoreUnavailable`` (503) and nothing is revoked, so the client can simply retry.
    """
    refresh = _refresh_token(raw_refresh)
    if str(refresh.get("sub")) != str(user.pk):
        raise InvalidInput(
            _("This refresh token does not belong to you."),
            errors={"refresh": [_("This refresh token does not belong to you.")]},
            code="token_not_yours",
        )
    if access_jti and access_exp:
        denylist.access_token_deny(jti=access_jti, exp=access_exp)
    refresh.blacklist()
    audit_record(action="auth.logout", target_type="user", target_id=user.pk, platform=True)


def user_tokens_revoke_all(*, user: User, at: float | None = None) -> None:
    """End every session of ``user``: refresh tokens blacklisted, access tokens refused.

    Used when the password changes, and when the console deactivates an account or changes a
    membership, so the change takes effect at the next request rather than at token expiry.
    Tokens issued before ``at`` (default now; the marker has a one-second resolution) are
    refused. Raises ``StoreUnavailable`` (503) if the hot-key store is down.
    """
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    denylist.user_tokens_revoke_before(user_id=str(user.pk), at=at)


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Deactivate a person: sign-in refused, and every session ended once this commits
    (``User.save()`` revokes; see ``apps.accounts.revocations``). Audited."""
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        action="user.deactivated",
        target_type="user",
        target_id=user.pk,
        changes={"is_active": {"old": True, "new": False}},
        platform=True,
    )
    logger.info("user_deactivated", user_id=str(user.pk))
    return user


@transaction.atomic
def user_change_password(
    *,
    user: User,
    current_password: str,
    new_password: str,
    access_jti: str | None = None,
    access_exp: int | float | None = None,
) -> None:
    """Change a person's password and revoke every token they hold.

    Every outstanding refresh token is blacklisted; the access token of the call is
    denylisted and every other access token issued before now is refused (``denylist``).
    The person signs in again. Store down: ``StoreUnavailable`` (503), nothing changes.
    """
    if not user.check_password(current_password):
        raise InvalidInput(
            _("The current password is wrong."),
            code="password_incorrect",
            errors={"current_password": [_("The current password is wrong.")]},
        )
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise InvalidInput(errors={"new_password": [str(m) for m in exc.messages]}) from exc
    if user.check_password(new_password):
        raise InvalidInput(
            errors={"new_password": [_("Choose a password different from the current one.")]},
            code="password_unchanged",
        )
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke_all(user=user)
    if access_jti and access_exp:
        denylist.access_token_deny(jti=access_jti, exp=access_exp)
    audit_record(
        action="user.password_changed",
        target_type="user",
        target_id=user.pk,
        changes={"password": {"old": "[redacted]", "new": "[redacted]"}},
        platform=True,
    )
    logger.info("user_password_changed", user_id=str(user.pk))


@transaction.atomic
def membership_grant(*, user: User, agency: Agency, role: str) -> Membership:
    """Give a person a role in an agency (or change it)."""
    membership, created = Membership.objects.get_or_create(
        user=user, agency=agency, defaults={"role": role}
    )
    before = {} if created else {"role": membership.role, "is_active": membership.is_active}
    if not created:
        membership.role = role
        membership.is_active = True
        membership.save(update_fields=["role", "is_active"])
    changes = audit_changes(before=before, after={"role": role, "is_active": True})
    if changes:
        audit_record(
            action="membership.granted",
            target_type="membership",
            target_id=membership.id,
            changes=changes,
            platform=True,
        )
    return membership
