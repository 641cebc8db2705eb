"""DRF throttles counted in the hot-key store, so every process and machine shares the counts.

Fixed windows: the counter of a window lives under
``hot_key(schema, "throttle", scope, ident, window_index)`` and is created by the store's
atomic ``add`` with a TTL of one window, so there is no read-modify-write race and nothing to
clean up. Windows are aligned on multiples of their length since the epoch; ``Retry-After``
is the time left until the current window ends.

Classes (rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read at request time; a rate
set to ``None`` or ``""`` switches that throttle off):

* ``UserRateThrottle`` (``user``): each person (citizen, civil servant, platform admin);
* ``PartnerRateThrottle`` (``partner``): each partner client;
* ``IPRateThrottle`` (``ip``): each source address, for requests without a token (callers
  with a token are counted by the two above: many citizens share one carrier-grade NAT);
* ``AgencyRateThrottle`` (``agency``): everything an agency host serves, so one agency cannot
  take the whole platform's capacity (not applied on the public host);
* ``ScopedHotKeyRateThrottle`` (the view's ``throttle_scope``): per caller (person, partner
  or source address) for sensitive endpoints such as sign-in and sign-up.

Failure policy: rate limits fail OPEN. When the store is unreachable the request is allowed,
a ``throttle_store_unavailable`` warning is logged and ``guichet_fail_open_total{check=
"throttle"}`` is incremented. Security decisions (lockout, denylist, one-time codes) do not
live here and fail closed.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from typing import Any, cast

import structlog
from django.db import connection
from django_tenants.utils import get_public_schema_name
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from apps.accounts.authentication import PartnerPrincipal
from apps.core.metrics import FAIL_OPEN
from apps.core.middleware import client_ip
from apps.hotkeys.base import StoreUnavailable
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)

NAMESPACE = "throttle"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@functools.lru_cache(maxsize=64)
def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"20/min"`` → ``(20, 60)``; ``"100/5m"`` → ``(100, 300)``; ``None``/``""`` → ``None``.

    The period is ``s``, ``m``, ``h`` or ``d`` (only the first letter counts, as in DRF:
    ``min``, ``hour`` and ``day`` work), optionally preceded by a multiplier.
    """
    if not rate:
        return None
    count, _, period = rate.partition("/")
    digits = period.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = period[len(digits) : len(digits) + 1]
    if not count.isdigit() or unit not in _PERIODS or (digits and not digits.isdigit()):
        raise ValueError(f"invalid throttle rate {rate!r}")
    seconds = _PERIODS[unit] * (int(digits) if digits else 1)
    if int(count) < 1 or seconds < 1:
        raise ValueError(f"invalid throttle rate {rate!r}")
    return int(count), seconds


@functools.lru_cache(maxsize=16384)
def counter_key(schema: str, scope: str, ident: str, window: int) -> bytes:
    """The key of one window's counter (memoised: packing a tuple costs a few µs)."""
    return hot_key(schema, NAMESPACE, scope, ident, window)


class HotKeyRateThrottle(BaseThrottle):
    """A fixed-window counter per ``(schema, scope, ident)`` in the hot-key store."""

    scope: str = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def get_scope(self, view: Any) -> str:
        """The rate name (and key part) of this throttle."""
        return self.scope

    def get_ident_for(self, request: Request, view: Any) -> str | None:
        """Who is counted; ``None`` when this throttle does not apply to the request."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = self.get_scope(view)
        if not scope:
            return True
        rates: Mapping[str, Any] = api_settings.DEFAULT_THROTTLE_RATES or {}
        parsed = parse_rate(rates.get(scope))
        if parsed is None:
            return True
        ident = self.get_ident_for(request, view)
        if ident is None:
            return True
        limit, period = parsed
        now = time.time()
        window = int(now // period)
        key = counter_key(request_schema(request), scope, ident, window)
        try:
            count = get_store().add(key, 1, ttl=period)
        except StoreUnavailable:
            FAIL_OPEN.labels(check="throttle").inc()
            logger.warning("throttle_store_unavailable", scope=scope)
            return True
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        logger.info("request_throttled", scope=scope)
        return False

    def wait(self) -> float | None:
        """Seconds until the current window ends (DRF puts it in ``Retry-After``)."""
        return None if self._wait is None else max(1.0, math.ceil(self._wait))


@functools.lru_cache(maxsize=1)
def _public_schema() -> str:
    return str(get_public_schema_name())


def request_schema(request: Request) -> str:
    """The schema the request is served in (the tenant AgencyMiddleware attached, which is
    far cheaper to read than the connection's attribute, or the connection's)."""
    tenant = getattr(request._request, "tenant", None)
    if tenant is not None:
        return str(tenant.schema_name)
    return str(cast(Any, connection).schema_name)


def _person_id(request: Request) -> str | None:
    user = request.user
    if user is None or isinstance(user, PartnerPrincipal) or not user.is_authenticated:
        return None
    return str(user.pk)


def _partner_id(request: Request) -> str | None:
    user = request.user
    return user.client_id if isinstance(user, PartnerPrincipal) else None


def _source(request: Request) -> str:
    return client_ip(request._request) or "unknown"


class UserRateThrottle(HotKeyRateThrottle):
    """Requests of one person (any token kind but partner)."""

    scope = "user"

    def get_ident_for(self, request: Request, view: Any) -> str | None:
        return _person_id(request)


class PartnerRateThrottle(HotKeyRateThrottle):
    """Requests of one partner client."""

    scope = "partner"

    def get_ident_for(self, request: Request, view: Any) -> str | None:
        return _partner_id(request)


class IPRateThrottle(HotKeyRateThrottle):
    """Requests without a token, per source address."""

    scope = "ip"

    def get_ident_for(self, request: Request, view: Any) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            return None
        return _source(request)


class AgencyRateThrottle(HotKeyRateThrottle):
    """Every request an agency host serves (the key already starts with its schema)."""

    scope = "agency"

    def get_ident_for(self, request: Request, view: Any) -> str | None:
        if request_schema(request) == _public_schema():
            return None
        return "all"


class ScopedHotKeyRateThrottle(HotKeyRateThrottle):
    """The view's ``throttle_scope``, per person, partner client or source address."""

    def get_scope(self, view: Any) -> str:
        return str(getattr(view, "throttle_scope", "") or "")

    def get_ident_for(self, request: Request, view: Any) -> str | None:
        person = _person_id(request)
        if person is not None:
            return f"user:{person}"
        partner = _partner_id(request)
        if partner is not None:
            return f"partner:{partner}"
        return f"ip:{_source(request)}"
