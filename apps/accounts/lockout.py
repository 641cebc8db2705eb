"""Login lockout per account and per source address, counted in the hot-key store.

Brute-force protection that request throttling alone does not give: after
``LOCKOUT_ACCOUNT_MAX_FAILURES`` failed sign-ins on one account (default 5), or
``LOCKOUT_SOURCE_MAX_FAILURES`` from one address (default 20), within
``LOCKOUT_WINDOW_SECONDS`` (default 15 min), further attempts are refused with 429
``account_locked`` / ``source_locked`` and a ``Retry-After`` header, *without checking the
password*. The lock lifts when the window that started with the first failure ends.

Race-free by reservation: ``login_attempt_begin`` counts the attempt as a failure before the
password is checked, in the same store transaction that checks the lock, so a burst of
parallel attempts can never test more than N passwords. ``login_attempt_succeeded`` then
resets the account's counter and gives the source its slot back; ``login_attempt_failed``
records the lock (audit ``auth.lockout``, outcome ``denied``) when this failure reached a limit.

Keys live under the public schema (a person is one identity across agencies):
``("public", "lockout", "account" | "source", ident, "count" | "since")``. The account ident is
the user's id when the login names a person, otherwise a keyed hash of the login (so unknown
logins lock the same way and nothing personal is stored).

Fails closed: if the store is unreachable, sign-in answers 503 ``service_unavailable``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from apps.accounts.identifiers import normalize_login
from apps.accounts.models import User
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.errors import ApplicationError, ServiceUnavailableError
from apps.hotkeys.base import HotKeyTransaction, StoreUnavailable, pack_counter, unpack_counter
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)

NAMESPACE = "lockout"
ACCOUNT = "account"
SOURCE = "source"


class LoginLocked(ApplicationError):
    """Sign-in refused without checking the password (429, with ``Retry-After``)."""

    status = 429

    def __init__(self, *, code: str, detail: Any, retry_after: int) -> None:
        super().__init__(detail, code=code, extra={"retry_after": retry_after})
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


def account_locked(retry_after: int) -> LoginLocked:
    """Too many failed sign-ins on this account."""
    return LoginLocked(
        code="account_locked",
        detail=_("Too many failed sign-ins on this account. Try again later."),
        retry_after=retry_after,
    )


def source_locked(retry_after: int) -> LoginLocked:
    """Too many failed sign-ins from this address."""
    return LoginLocked(
        code="source_locked",
        detail=_("Too many failed sign-ins from your network. Try again later."),
        retry_after=retry_after,
    )


@dataclass(frozen=True)
class _Counter:
    scope: str  # ACCOUNT or SOURCE
    ident: str
    limit: int

    def key(self, part: str) -> bytes:
        return hot_key(get_public_schema_name(), NAMESPACE, self.scope, self.ident, part)


@dataclass(frozen=True)
class LoginAttempt:
    """One sign-in attempt, its failure already reserved in the counters."""

    counters: tuple[_Counter, ...]
    counts: tuple[int, ...]  # each counter's value including this attempt
    user_id: str | None


def _window() -> int:
    return int(settings.LOCKOUT_WINDOW_SECONDS)


def _account_ident(login: str) -> tuple[str, str | None]:
    """``(ident, user_id)``: the user's id when the login names a person, else a keyed hash."""
    try:
        field, value = normalize_login(login)
    except ValidationError:
        field, value = "raw", login.strip().lower()
    else:
        user_id = User.objects.filter(**{field: value}).values_list("id", flat=True).first()
        if user_id is not None:
            return f"user:{user_id}", str(user_id)
    digest = salted_hmac("guichet.lockout.login", f"{field}:{value}", algorithm="sha256")
    return f"login:{digest.hexdigest()}", None


def _unavailable(exc: StoreUnavailable) -> ServiceUnavailableError:
    logger.warning("lockout_store_unavailable")
    return ServiceUnavailableError()


def login_attempt_begin(*, login: str, source: str | None) -> LoginAttempt:
    """Refuse a locked account or source (429), else reserve this attempt as a failure.

    Raises ``LoginLocked`` (429 ``account_locked`` / ``source_locked``) or
    ``ServiceUnavailableError`` (503) when the store cannot be reached. Call it before the
    password is checked, then ``login_attempt_failed`` or ``login_attempt_succeeded``.
    """
    ident, user_id = _account_ident(login)
    counters = [_Counter(ACCOUNT, ident, settings.LOCKOUT_ACCOUNT_MAX_FAILURES)]
    if source:
        counters.append(_Counter(SOURCE, source, settings.LOCKOUT_SOURCE_MAX_FAILURES))
    window = _window()

    def reserve(tx: HotKeyTransaction) -> tuple[str, int] | tuple[int, ...]:
        for counter in counters:
            raw = tx.get(counter.key("count"))
            if raw is not None and unpack_counter(raw) >= counter.limit:
                since = tx.get(counter.key("since"))
                started = unpack_counter(since) if since is not None else tx.now_ms
                left = math.ceil((started + window * 1000 - tx.now_ms) / 1000)
                return counter.scope, max(1, left)
        counts = []
        for counter in counters:
            count = tx.add(counter.key("count"), 1, ttl=window)
            if count == 1:
                tx.set(counter.key("since"), pack_counter(tx.now_ms), ttl=window)
            counts.append(count)
        return tuple(counts)

    try:
        outcome = get_store().transaction(reserve)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from exc
    if isinstance(outcome[0], str):
        scope, retry_after = outcome
        logger.info("login_refused_locked", scope=scope)
        raise (account_locked if scope == ACCOUNT else source_locked)(int(retry_after))
    return LoginAttempt(
        counters=tuple(counters), counts=tuple(int(c) for c in outcome), user_id=user_id
    )


def login_attempt_failed(attempt: LoginAttempt) -> None:
    """The password was wrong: audit each lock this failure has just set."""
    for counter, count in zip(attempt.counters, attempt.counts, strict=True):
        if count != counter.limit:
            continue
        logger.warning("login_locked", scope=counter.scope)
        is_account = counter.scope == ACCOUNT
        audit_record(
            action="auth.lockout",
            target_type="user" if is_account and attempt.user_id else counter.scope,
            target_id=attempt.user_id if is_account and attempt.user_id else "",
            changes={"scope": {"old": None, "new": counter.scope}},
            outcome=Outcome.DENIED,
            platform=True,
        )


def login_attempt_succeeded(attempt: LoginAttempt) -> None:
    """The password was right: reset the account's failures, give the source its slot back.

    Never raises: if the store is down now, the reservation simply stays counted (stricter,
    never looser).
    """
    account, *others = attempt.counters

    def release(tx: HotKeyTransaction) -> None:
        tx.delete(account.key("count"))
        tx.delete(account.key("since"))
        for counter in others:
            raw = tx.get(counter.key("count"))
            if raw is not None and unpack_counter(raw) > 0:
                tx.add(counter.key("count"), -1)

    try:
        get_store().transaction(release)
    except StoreUnavailable:
        logger.warning("lockout_store_unavailable", phase="release")
