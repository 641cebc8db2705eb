"""simplejwt's token backend on the key ring (``apps.accounts.keyring``): every token is signed
with the active Ed25519 key and verified with the key its ``kid`` header names."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import jwt
from django.utils.translation import gettext as _
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from apps.accounts.keyring import ALGORITHM, keyring_signing_key, keyring_verifying_key
from apps.accounts.models import KeyKind


def _unverified_header(token: Any) -> dict[str, Any]:
    """The JOSE header, read without PyJWT's validation of the whole token (``jwt.decode``
    validates it right after, so doing it twice would double the parsing cost per request)."""
    try:
        raw = token.decode("ascii") if isinstance(token, bytes) else str(token)
        segment = raw.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise TokenBackendError(_("Token is invalid")) from exc
    if not isinstance(header, dict):
        raise TokenBackendError(_("Token is invalid"))
    return header


class KeyRingTokenBackend(TokenBackend):
    """simplejwt's backend signing with the ring's active key and verifying by ``kid``.

    Issuer, audience, expiry and leeway checks are simplejwt's own. A token without a ``kid``,
    with a ``kid`` the ring does not have (or has retired), or whose ``alg`` is not the key's,
    is invalid.
    """

    def encode(self, payload: dict[str, Any]) -> str:
        """Sign with the active key; ``kid`` in the header."""
        key = keyring_signing_key(KeyKind.JWT)
        assert key.private_key is not None  # the active key is always loaded with it
        claims = payload.copy()
        if self.audience is not None:
            claims["aud"] = self.audience
        if self.issuer is not None:
            claims["iss"] = self.issuer
        return jwt.encode(
            claims,
            key.private_key,
            algorithm=key.algorithm,
            headers={"kid": key.kid},
            json_encoder=self.json_encoder,
        )

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        """Verify with the key the header names; ``TokenBackendError`` for any failure."""
        header = _unverified_header(token)
        kid = header.get("kid")
        key = keyring_verifying_key(str(kid)) if isinstance(kid, str) and kid else None
        if verify and (key is None or header.get("alg") != key.algorithm):
            raise TokenBackendError(_("Token is invalid"))
        try:
            return jwt.decode(
                token,
                key.public_key if key is not None else "",  # "": only when not verifying
                algorithms=[key.algorithm if key is not None else ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.get_leeway(),
                options={"verify_aud": self.audience is not None, "verify_signature": verify},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken(_("Token is expired")) from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError(_("Token is invalid")) from exc


def install_token_backend() -> None:
    """Make every simplejwt token class (access, refresh, untyped, blacklist) use the ring.

    simplejwt reads ``Token._token_backend`` before falling back to its module-level HS256
    backend; setting it once at start-up covers the classes this project uses and any other.
    """
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import Token

    Token._token_backend = KeyRingTokenBackend(
        ALGORITHM,
        None,
        "",
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        None,
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
    )
