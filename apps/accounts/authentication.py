"""DRF authentication: simplejwt plus the agency binding that simplejwt does not do.

simplejwt validates signature, expiry, issuer, audience and token type; it knows nothing of
django-tenants. This class also refuses a token whose ``agency`` claim is not the schema the
request's host resolved to (401 ``token_wrong_agency``), a token without a known ``kind``, and
a revoked token (401 ``token_revoked``: logout or password change, see ``denylist``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from apps.accounts.denylist import token_is_revoked
from apps.accounts.tokens import AGENCY_BOUND_KINDS, TokenKind
from apps.core.context import bind_actor
from apps.core.tenancy import current_schema


@dataclass(frozen=True)
class PartnerPrincipal:
    """The caller behind a partner token (not a person, so not a ``User``)."""

    pk: str
    client_id: str
    agency: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_superuser: bool = False


def token_kind(token: Any) -> TokenKind | None:
    """The ``kind`` claim of a validated token, or None."""
    if token is None:
        return None
    try:
        return TokenKind(token.get("kind"))
    except ValueError:
        return None


class AgencyBoundJWTAuthentication(JWTAuthentication):
    """Bearer JWTs, bound to the agency they were issued for."""

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        header = self.get_header(request)
        if header is None:
            return None
        raw = self.get_raw_token(header)
        if raw is None:
            return None
        token = self.get_validated_token(raw)
        kind = token_kind(token)
        if kind is None:
            raise AuthenticationFailed(_("The token is invalid or expired."), code="token_invalid")
        if kind in AGENCY_BOUND_KINDS and token.get("agency") != current_schema():
            raise AuthenticationFailed(
                _("This token was not issued for this agency."), code="token_wrong_agency"
            )
        # Logged out or password changed. StoreUnavailable propagates: 503, never a pass.
        if token_is_revoked(token, person=kind is not TokenKind.PARTNER):
            raise AuthenticationFailed(_("This token has been revoked."), code="token_revoked")
        if kind is TokenKind.PARTNER:
            principal = PartnerPrincipal(
                pk=str(token.get("sub")),
                client_id=str(token.get("client_id", "")),
                agency=str(token.get("agency")),
                scopes=frozenset(str(token.get("scope", "")).split()),
            )
            bind_actor(actor_type="partner", actor_id=principal.pk)
            return principal, token
        user = self.get_user(token)
        bind_actor(actor_type="user", actor_id=str(user.pk), actor_role=token.get("role", kind))
        return user, token
