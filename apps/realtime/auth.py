"""Who is on a real-time connection: the REST API's authentication, applied to a raw token.

``realtime_authenticate`` is the one place the gateway (WebSocket and SSE) decides whether a
token may connect and which streams it may follow. It runs the API's own authentication class
(``AgencyBoundJWTAuthentication``: signature, expiry, issuer, audience, kind, the agency
binding, the denylist and per-person revocation) and the API's own staff permission
(``IsAgencyStaff``), so a rule added there (a second factor for staff tokens, say) applies here
too. Call it with the connection pointed at the schema of the host (``schema_context``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from apps.accounts.authentication import AgencyBoundJWTAuthentication, token_kind
from apps.accounts.permissions import IsAgencyStaff
from apps.accounts.tokens import TokenKind
from apps.hotkeys.base import StoreUnavailable
from apps.realtime.protocol import CloseCode


@dataclass(frozen=True)
class Principal:
    """A person allowed on the gateway, and what their token says."""

    user_id: UUID
    kind: str  # "citizen" or "staff"
    agency: str | None  # the staff token's agency (schema); None for citizens
    role: str
    expires_at: int
    language: str = "fr"


class AuthRefused(Exception):
    """The token may not connect: close the connection with ``close_code``."""

    def __init__(self, close_code: CloseCode, code: str) -> None:
        super().__init__(code)
        self.close_code = close_code
        self.code = code


class _HeaderRequest:
    """What DRF's authentication reads of a request: the ``Authorization`` header."""

    def __init__(self, raw_token: str) -> None:
        self.META = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"}


class _PermissionRequest:
    """What the API's permission classes read of a request: ``user`` and ``auth``."""

    def __init__(self, user: Any, auth: Any) -> None:
        self.user = user
        self.auth = auth


def realtime_authenticate(raw_token: str, *, language: str = "fr") -> Principal:
    """The principal of ``raw_token`` on the current schema's host, or ``AuthRefused``.

    Citizens connect on every host; staff only on their agency's, and only with a token the
    staff API would accept; partner and platform tokens have no stream (4403).
    """
    if not raw_token or len(raw_token) > 8192:
        raise AuthRefused(CloseCode.UNAUTHENTICATED, "token_missing")
    try:
        result = AgencyBoundJWTAuthentication().authenticate(_HeaderRequest(raw_token))  # type: ignore[arg-type]
    except StoreUnavailable as exc:  # revocation could not be checked: fail closed
        raise AuthRefused(CloseCode.TRY_AGAIN_LATER, "service_unavailable") from exc
    except AuthenticationFailed as exc:
        code = _failure_code(exc)
        if code == "token_wrong_agency":
            raise AuthRefused(CloseCode.FORBIDDEN, code) from exc
        if code == "token_revoked":
            raise AuthRefused(CloseCode.TOKEN_REVOKED, code) from exc
        if code in ("user_not_found", "user_inactive"):
            raise AuthRefused(CloseCode.TOKEN_REVOKED, code) from exc
        raise AuthRefused(CloseCode.UNAUTHENTICATED, code or "token_invalid") from exc
    except (InvalidToken, TokenError) as exc:
        raise AuthRefused(CloseCode.UNAUTHENTICATED, "token_invalid") from exc
    if result is None:
        raise AuthRefused(CloseCode.UNAUTHENTICATED, "token_missing")
    user, token = result
    kind = token_kind(token)
    if kind is TokenKind.STAFF:
        if not IsAgencyStaff().has_permission(_PermissionRequest(user, token), None):  # type: ignore[arg-type]
            raise AuthRefused(CloseCode.FORBIDDEN, "stream_forbidden")
    elif kind is not TokenKind.CITIZEN:
        raise AuthRefused(CloseCode.FORBIDDEN, "stream_forbidden")
    return Principal(
        user_id=UUID(str(user.pk)),
        kind=str(kind),
        agency=str(token.get("agency")) if kind is TokenKind.STAFF else None,
        role=str(token.get("role", kind)),
        expires_at=int(token.get("exp", 0)),
        language=language,
    )


def _failure_code(exc: AuthenticationFailed) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        value = codes.get("detail") or codes.get("code")
        return str(value[0] if isinstance(value, list) else value or "")
    return ""
