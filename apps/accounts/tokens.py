"""JSON Web Tokens of the four kinds of caller.

Every token carries ``iss`` and ``aud`` (checked on the way in), a ``kind`` claim and, except
for citizens, an ``agency`` claim with the schema it was issued for. Citizens are one person
across agencies, so their tokens work on every agency's citizen endpoints and never on staff
ones; staff, partner and platform tokens are refused on any other host than their agency's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from apps.accounts.models import RefreshTokenRecord, User

# RFC 8176 authentication method references: how the person signed in.
AMR_CLAIM = "amr"
# The claim naming a refresh token's family: drawn at sign-in, kept by every rotation.
FAMILY_CLAIM = "fam"


class TokenKind(StrEnum):
    """Who a token speaks for."""

    CITIZEN = "citizen"
    STAFF = "staff"
    PLATFORM = "platform"
    PARTNER = "partner"


AGENCY_BOUND_KINDS = frozenset({TokenKind.STAFF, TokenKind.PLATFORM, TokenKind.PARTNER})
# Kinds that exist only with a second factor (apps.accounts.mfa): refused without ``mfa``.
SECOND_FACTOR_KINDS = frozenset({TokenKind.STAFF, TokenKind.PLATFORM})


def amr_has_second_factor(amr: Any) -> bool:
    """Whether an ``amr`` claim says a second factor was passed (RFC 8176 ``mfa``)."""
    return isinstance(amr, list | tuple) and "mfa" in amr


@dataclass(frozen=True)
class IssuedTokens:
    """What the token endpoints return."""

    access: str
    refresh: str | None
    kind: TokenKind
    agency: str | None
    expires_in: int
    scope: str | None = None
    device_token: str | None = None

    def as_response(self) -> dict[str, Any]:
        """The response body of the token endpoints."""
        body: dict[str, Any] = {
            "access": self.access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "kind": str(self.kind),
            "agency": self.agency,
        }
        if self.refresh is not None:
            body["refresh"] = self.refresh
        if self.device_token is not None:
            body["device_token"] = self.device_token
        return body


def _access_lifetime() -> int:
    return int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


def issue_user_tokens(
    *,
    user: User,
    kind: TokenKind,
    agency: str | None = None,
    role: str | None = None,
    family: uuid.UUID | None = None,
    amr: Sequence[str] | None = None,
) -> IssuedTokens:
    """An access + refresh pair for a person.

    ``amr`` (RFC 8176) says how the person signed in: ``["pwd"]`` on a password alone,
    ``["pwd", "otp", "mfa"]`` with a second factor (``apps.accounts.mfa``); staff and platform
    tokens without ``mfa`` are refused on every endpoint. A refresh passes the original
    sign-in's value on.

    The refresh token is recorded for the blacklist (``OutstandingToken``) with its family and
    its access token's ``jti`` (``RefreshTokenRecord``); ``family`` is None at sign-in (a new
    family) and the rotated token's family on refresh. Two inserts: call it in a transaction.
    """
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(user.pk)
    refresh["kind"] = str(kind)
    if agency is not None:
        refresh["agency"] = agency
    if role is not None:
        refresh["role"] = role
    if amr is not None:
        refresh[AMR_CLAIM] = list(amr)
    family = family or uuid.uuid4()
    refresh[FAMILY_CLAIM] = str(family)
    access = refresh.access_token  # copies the claims set above
    outstanding = OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=str(refresh),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    RefreshTokenRecord.objects.create(
        outstanding=outstanding,
        family=family,
        access_jti=access[api_settings.JTI_CLAIM],
        access_expires_at=datetime_from_epoch(access["exp"]),
    )
    return IssuedTokens(
        access=str(access),
        refresh=str(refresh),
        kind=kind,
        agency=agency,
        expires_in=_access_lifetime(),
    )


def issue_staff_access_token(
    *, user: User, agency: str, role: str, amr: Sequence[str], lifetime: timedelta
) -> IssuedTokens:
    """A short-lived staff access token alone (no refresh token) for a console session.

    The console is signed in with a session; its pages that talk to the real-time gateway
    need a bearer token (``apps.realtime.console``). The token carries the session's person,
    agency, role and ``amr``; nothing is recorded for it (no refresh family), so it ends at
    ``exp``, or earlier with the person's tokens (password change, deactivation).
    """
    token = AccessToken()
    token.set_exp(lifetime=lifetime)
    token[api_settings.USER_ID_CLAIM] = str(user.pk)
    token["kind"] = str(TokenKind.STAFF)
    token["agency"] = agency
    token["role"] = role
    token[AMR_CLAIM] = list(amr)
    return IssuedTokens(
        access=str(token),
        refresh=None,
        kind=TokenKind.STAFF,
        agency=agency,
        expires_in=int(lifetime.total_seconds()),
    )


def issue_partner_token(
    *, client_uuid: str, client_id: str, agency: str, scopes: list[str]
) -> IssuedTokens:
    """A short-lived access token carrying exactly the partner's scopes in one agency."""
    token = AccessToken()
    token.set_exp(lifetime=settings.PARTNER_TOKEN_LIFETIME)
    token[settings.SIMPLE_JWT["USER_ID_CLAIM"]] = client_uuid
    token["kind"] = str(TokenKind.PARTNER)
    token["agency"] = agency
    token["client_id"] = client_id
    token["scope"] = " ".join(sorted(scopes))
    return IssuedTokens(
        scope=token["scope"],
        access=str(token),
        refresh=None,
        kind=TokenKind.PARTNER,
        agency=agency,
        expires_in=int(settings.PARTNER_TOKEN_LIFETIME.total_seconds()),
    )
