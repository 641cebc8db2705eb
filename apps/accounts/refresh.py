"""Refresh-token rotation: one winner per token, and reuse detection by family (RFC 9700).

Rotation locks the token's ``OutstandingToken`` row (``SELECT … FOR UPDATE NOWAIT``) before it
looks at the blacklist, and blacklists it with a plain ``INSERT`` (the blacklist row is unique
per token), all in one transaction. Of any number of simultaneous refreshes of one token
exactly one gets a new pair; the others find the row locked, or already rotated, and get 401
``refresh_token_rotated``.

Every refresh token carries a family id (``fam`` claim, ``RefreshTokenRecord.family``), drawn
at sign-in and kept by each rotation. A token that was rotated out and is presented again
more than ``JWT_REFRESH_REUSE_LEEWAY_SECONDS`` after its rotation was copied: the whole family
is revoked — every refresh token of it blacklisted, every access token issued with them
denied in the hot-key store — and ``auth.refresh_reused`` is audited in the same transaction;
the caller gets 401 ``refresh_token_reused``. The leeway only spares the losers of a race
(a client retrying, two tabs refreshing at once): within it a replay gets no session either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import denylist
from apps.accounts.models import Membership, RefreshTokenRecord, User
from apps.accounts.tokens import (
    AGENCY_BOUND_KINDS,
    AMR_CLAIM,
    FAMILY_CLAIM,
    IssuedTokens,
    TokenKind,
    issue_user_tokens,
)
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.context import bind_actor
from apps.core.errors import NotAuthenticatedError
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)


class _RotationCandidate(RefreshToken):
    """A refresh token checked for signature, expiry and type, not yet for the blacklist:
    rotation checks the blacklist itself, under the row lock."""

    def check_blacklist(self) -> None:
        return None


def _invalid() -> NotAuthenticatedError:
    return NotAuthenticatedError(
        _("The refresh token is invalid, expired or revoked."), code="token_invalid"
    )


def _rotated() -> NotAuthenticatedError:
    return NotAuthenticatedError(
        _("This refresh token has already been used. Use the newest one or sign in again."),
        code="refresh_token_rotated",
    )


def _reused() -> NotAuthenticatedError:
    return NotAuthenticatedError(
        _("This refresh token was used twice: every session it belongs to has ended."),
        code="refresh_token_reused",
    )


@dataclass(frozen=True)
class _Refused:
    error: NotAuthenticatedError


def refresh_family_revoke(*, family: uuid.UUID, user_id: str | None, reason: str) -> int:
    """End every session of a refresh-token family: blacklist each of its refresh tokens and
    deny each access token issued with them. Audited (``auth.refresh_family_revoked``).

    Call it in a transaction; the denylist is written first, so with the hot-key store down
    this raises ``StoreUnavailable`` (503) and the transaction rolls back. Returns how many
    refresh tokens the family had.
    """
    records = list(RefreshTokenRecord.objects.filter(family=family))
    for record in records:
        denylist.access_token_deny(jti=record.access_jti, exp=record.access_expires_at.timestamp())
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=record.outstanding_id) for record in records],
        ignore_conflicts=True,
    )
    audit_record(
        action="auth.refresh_family_revoked",
        target_type="user" if user_id else "",
        target_id=user_id or "",
        changes={
            "family": {"old": None, "new": str(family)},
            "reason": {"old": None, "new": reason},
        },
        outcome=Outcome.DENIED,
        platform=True,
    )
    logger.warning("refresh_family_revoked", family=str(family), reason=reason, tokens=len(records))
    return len(records)


def _parse(raw: str) -> _RotationCandidate:
    try:
        return _RotationCandidate(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise _invalid() from exc


def _membership_role(user: User, kind: TokenKind, schema: str) -> str | None:
    if kind is not TokenKind.STAFF:
        return None
    membership = (
        Membership.objects.filter(
            user=user, agency__schema_name=schema, is_active=True, agency__is_active=True
        )
        .only("role")
        .first()
    )
    if membership is None:
        raise NotAuthenticatedError(
            _("Your membership of this agency has ended."), code="membership_revoked"
        )
    return membership.role


def _rotate(refresh: _RotationCandidate, kind: TokenKind) -> IssuedTokens | _Refused:
    """The transaction of one rotation. A refusal that must still commit (the revocation of a
    family) is returned, not raised."""
    jti = refresh[api_settings.JTI_CLAIM]
    try:
        outstanding = OutstandingToken.objects.select_for_update(nowait=True).get(jti=jti)
    except OperationalError as exc:  # another request is rotating this very token
        raise _rotated() from exc
    except OutstandingToken.DoesNotExist as exc:
        raise _invalid() from exc
    record = RefreshTokenRecord.objects.filter(outstanding=outstanding).first()
    if BlacklistedToken.objects.filter(token=outstanding).exists():
        if record is None or record.rotated_at is None:
            raise _invalid()  # logged out or revoked, not rotated: nothing more to end
        leeway = timedelta(seconds=settings.JWT_REFRESH_REUSE_LEEWAY_SECONDS)
        if timezone.now() - record.rotated_at <= leeway:
            raise _rotated()
        refresh_family_revoke(
            family=record.family, user_id=refresh.get(api_settings.USER_ID_CLAIM), reason="reuse"
        )
        return _Refused(_reused())
    agency = refresh.get("agency")
    user = User.objects.filter(id=refresh.get(api_settings.USER_ID_CLAIM), is_active=True).first()
    if user is None:
        raise _invalid()
    role = _membership_role(user, kind, current_schema())
    # Unique per token: had anything slipped past the lock, this INSERT would fail, not pass.
    BlacklistedToken.objects.create(token=outstanding)
    if record is not None:
        record.rotated_at = timezone.now()
        record.save(update_fields=["rotated_at"])
    family = record.family if record is not None else _family_claim(refresh)
    bind_actor(actor_type="user", actor_id=str(user.pk), actor_role=role or str(kind))
    amr = refresh.get(AMR_CLAIM)  # the original sign-in's methods, kept by every rotation
    return issue_user_tokens(
        user=user,
        kind=kind,
        agency=agency,
        role=role,
        family=family,
        amr=amr if isinstance(amr, list) else None,
    )


def _family_claim(refresh: RefreshToken) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(refresh.get(FAMILY_CLAIM)))
    except ValueError:
        return None  # a token issued before families: the rotation starts one


def token_refresh(*, raw_refresh: str) -> IssuedTokens:
    """Rotate a refresh token: the old one is blacklisted, a new pair of the same family issued.

    The agency binding and the membership are checked again, so a revoked membership stops
    working at the next refresh at the latest. 401 ``refresh_token_rotated`` when the token
    was rotated already (or is being rotated right now), 401 ``refresh_token_reused`` when a
    rotated-out token comes back (its family is revoked), 401 ``token_invalid`` otherwise.
    """
    refresh = _parse(raw_refresh)
    try:
        kind = TokenKind(refresh.get("kind"))
    except ValueError as exc:
        raise NotAuthenticatedError(_("The token is invalid."), code="token_invalid") from exc
    if kind in AGENCY_BOUND_KINDS and refresh.get("agency") != current_schema():
        raise NotAuthenticatedError(
            _("This token was not issued for this agency."), code="token_wrong_agency"
        )
    with transaction.atomic():
        outcome = _rotate(refresh, kind)
    if isinstance(outcome, _Refused):
        raise outcome.error
    return outcome
