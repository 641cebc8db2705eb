"""JSON Web Tokens of the four kinds of caller.

Every token carries ``iss`` and ``aud`` (checked on the way in), a ``kind`` claim and, except
for citizens, an ``agency`` claim with the schema it was issued for. Citizens are one person
across agencies, so their tokens work on every agency's citizen endpoints and never on staff
ones; staff, partner and platform tokens are refused on any other host than their agency's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.accounts.models import User


class TokenKind(StrEnum):
    """Who a token speaks for."""

    CITIZEN = "citizen"
    STAFF = "staff"
    PLATFORM = "platform"
    PARTNER = "partner"


AGENCY_BOUND_KINDS = frozenset({TokenKind.STAFF, TokenKind.PLATFORM, TokenKind.PARTNER})


@dataclass(frozen=True)
class IssuedTokens:
    """What the token endpoints return."""

    access: str
    refresh: str | None
    kind: TokenKind
    agency: str | None
    expires_in: int
    scope: str | None = None

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
        return body


def _access_lifetime() -> int:
    return int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


def issue_user_tokens(
    *, user: User, kind: TokenKind, agency: str | None = None, role: str | None = None
) -> IssuedTokens:
    """An access + refresh pair for a person (the refresh is recorded for the blacklist)."""
    refresh = RefreshToken.for_user(user)
    refresh["kind"] = str(kind)
    if agency is not None:
        refresh["agency"] = agency
    if role is not None:
        refresh["role"] = role
    access = refresh.access_token  # copies the claims set above
    return IssuedTokens(
        access=str(access),
        refresh=str(refresh),
        kind=kind,
        agency=agency,
        expires_in=_access_lifetime(),
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
