"""The access-token denylist, checked on every authenticated request.

Access tokens are stateless JWTs; revoking one before it expires needs a shared list:

* ``access_token_deny(jti=, exp=)`` stores the token's ``jti`` under
  ``hot_key("public", "denylist", jti)`` with a TTL of its remaining lifetime (logout,
  password change): the entry disappears when the token would have expired anyway;
* ``user_tokens_revoke_before(user_id=)`` stores "every token issued before now is invalid"
  under ``hot_key("public", "revoked_before", user_id)`` (password change; a partner client's
  id when it is revoked), so the subject's *other* outstanding access tokens die too. JWT
  ``iat`` has one-second resolution: a token is refused when its ``iat`` is before the second
  of the revocation (tokens issued later in that same second, such as a fresh sign-in, stay
  valid);
* ``token_is_revoked(token)`` checks both.

Refresh tokens are revoked through simplejwt's blacklist (PostgreSQL), not here.

Fails closed: every function raises ``StoreUnavailable`` when the store cannot be reached,
and the API's exception handler answers 503 ``service_unavailable`` — a token is never
accepted without its revocation having been checked.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from django.conf import settings
from django_tenants.utils import get_public_schema_name

from apps.hotkeys.base import pack_counter, unpack_counter
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

DENYLIST = "denylist"
REVOKED_BEFORE = "revoked_before"


# Memoised: packing a tuple key costs a few µs and every request builds both keys.
@functools.lru_cache(maxsize=16384)
def _jti_key(jti: str) -> bytes:
    return hot_key(get_public_schema_name(), DENYLIST, jti)


@functools.lru_cache(maxsize=16384)
def _user_key(user_id: str) -> bytes:
    return hot_key(get_public_schema_name(), REVOKED_BEFORE, user_id)


def _longest_access_lifetime() -> float:
    return max(
        settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds(),
        settings.PARTNER_TOKEN_LIFETIME.total_seconds(),
    )


def access_token_deny(*, jti: str, exp: int | float) -> None:
    """Refuse the access token ``jti`` until its expiry ``exp`` (epoch seconds).

    A token that has already expired needs no entry. Raises ``StoreUnavailable``.
    """
    remaining = float(exp) - time.time()
    if not jti or remaining <= 0:
        return
    get_store().set(_jti_key(str(jti)), b"", ttl=remaining + 1)


def user_tokens_revoke_before(*, user_id: str, at: float | None = None) -> None:
    """Refuse every access token of ``user_id`` issued before ``at`` (default: now).

    The marker outlives every token it can concern (the longest access-token lifetime).
    Raises ``StoreUnavailable``.
    """
    moment = int(time.time() if at is None else at)
    get_store().set(
        _user_key(str(user_id)), pack_counter(moment), ttl=_longest_access_lifetime() + 60
    )


def token_is_revoked(token: Any, *, person: bool = True) -> bool:
    """Whether a validated access token (a simplejwt ``Token`` or a claims mapping) was revoked,
    by its ``jti`` or, for a person, by its ``iat`` before a password change.

    ``person=False`` (partner tokens) skips the per-person marker. Raises
    ``StoreUnavailable``: callers must fail closed.
    """
    store = get_store()
    jti = token.get(settings.SIMPLE_JWT["JTI_CLAIM"])
    if jti and store.get(_jti_key(str(jti))) is not None:
        return True
    if not person:
        return False
    sub = token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
    if not sub:
        return False
    marker = store.get(_user_key(str(sub)))
    if marker is None:
        return False
    issued_at = token.get("iat")
    return issued_at is None or int(issued_at) < unpack_counter(marker)
