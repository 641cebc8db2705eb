"""DRF authentication: simplejwt plus the agency binding that simplejwt does not do.

simplejwt validates signature, expiry, issuer, audience and token type; it knows nothing of
django-tenants. This class also refuses a token whose ``agency`` claim is not the schema the
request's host resolved to (401 ``token_wrong_agency``), a token without a known ``kind``, and
a revoked token (401 ``token_revoked``: logout or password change, see ``denylist``).

With ``AUTH_STATELESS_USERS`` (the default) the person behind a token is a ``TokenUser``: the id
comes from the token and the ``accounts_user`` row is read only if the request needs more than
the id, which saves a query on most requests. Staleness: a person deactivated or deleted after
the token was issued is refused as soon as a request reads the row, and on every request once
their tokens are revoked: at once when the change went through the application (model
``save()``, queryset ``update()``, services, console: ``denylist.user_tokens_revoke_before``),
within ``AUTH_REVOCATION_POLL_SECONDS`` when it was made in the database directly
(``revocations``). Refreshing is refused at once either way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from apps.accounts.denylist import token_is_revoked
from apps.accounts.revocations import user_revoked_since
from apps.accounts.tokens import (
    AGENCY_BOUND_KINDS,
    AMR_CLAIM,
    SECOND_FACTOR_KINDS,
    TokenKind,
    amr_has_second_factor,
)
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


def _user_of_token(user_id: UUID) -> Any:
    """The row behind a ``TokenUser``; 401, as simplejwt would answer, when it is gone or
    deactivated."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise AuthenticationFailed(_("The person of this token does not exist."), "user_not_found")
    if not user.is_active:
        raise AuthenticationFailed(_("The person of this token is deactivated."), "user_inactive")
    return user


# Attributes the ORM looks for on every filter value (expressions have them, models do not).
_ORM_PROBES = frozenset(
    {"resolve_expression", "get_source_expressions", "as_sql", "_setup_query", "filterable"}
)


class TokenUser(SimpleLazyObject):
    """The person a validated token names, read from the database only when needed.

    ``pk`` / ``id``, ``is_authenticated``, ``isinstance(…, User)``, equality and hashing come
    from the token; any other attribute (``email``, ``is_superuser``, ``save()``, assigning it
    to a foreign key) loads the row once.
    """

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user_id: UUID) -> None:
        self.__dict__["_token_user_id"] = user_id
        super().__init__(functools.partial(_user_of_token, user_id))

    @property
    def pk(self) -> UUID:
        return cast(UUID, self.__dict__["_token_user_id"])

    @property
    def id(self) -> UUID:
        return cast(UUID, self.__dict__["_token_user_id"])

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        # isinstance() and the ORM (filters, foreign keys) see a User without loading it.
        return get_user_model()

    @property
    def _meta(self) -> Any:
        return get_user_model()._meta

    def _is_pk_set(self) -> bool:  # asked by the ORM before using an instance in a filter
        return True

    def __getattr__(self, name: str) -> Any:
        if name in _ORM_PROBES:  # a model instance has none of them: no need to load it
            raise AttributeError(name)
        return super().__getattr__(name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TokenUser | get_user_model()):
            return bool(self.pk == other.pk)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.pk)


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
        # The per-subject marker covers people (password change) and partner clients (revoked).
        if token_is_revoked(token) or (
            kind is not TokenKind.PARTNER
            and user_revoked_since(str(token.get(api_settings.USER_ID_CLAIM)), token.get("iat"))
        ):
            raise AuthenticationFailed(_("This token has been revoked."), code="token_revoked")
        # Staff and platform tokens exist only with a second factor: one without (issued on a
        # password alone, before the second factor existed) opens nothing. 403, not 401: the
        # token is genuine, the sign-in was not complete.
        if kind in SECOND_FACTOR_KINDS and not amr_has_second_factor(token.get(AMR_CLAIM)):
            raise PermissionDenied(
                _("A second factor is required: sign in again with your authenticator code."),
                code="mfa_required",
            )
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

    def get_user(self, validated_token: Token) -> Any:
        """A ``TokenUser`` (``AUTH_STATELESS_USERS``), or the row as simplejwt reads it."""
        if not getattr(settings, "AUTH_STATELESS_USERS", True):
            return super().get_user(validated_token)
        try:
            user_id = UUID(str(validated_token[api_settings.USER_ID_CLAIM]))
        except (KeyError, ValueError) as exc:
            raise InvalidToken(str(_("The token does not name a person."))) from exc
        return TokenUser(user_id)
