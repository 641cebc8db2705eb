"""Sign-in lockout that guessing cannot turn against the account's owner.

Counted in the hot-key store, checked before the password, per attempt:

* **account × source** — ``LOCKOUT_ACCOUNT_MAX_FAILURES`` (5) failures on one account from one
  address within ``LOCKOUT_WINDOW_SECONDS`` (15 min) lock that account *for that address*
  (429 ``account_locked``); the owner elsewhere is not affected;
* **source** — ``LOCKOUT_SOURCE_MAX_FAILURES`` (20) failures from one address, on any accounts,
  within the window lock the address (429 ``source_locked``);
* **account budget** — ``LOCKOUT_ACCOUNT_DAILY_FAILURES`` (N = 50) failures on one account from
  all sources together within ``LOCKOUT_ACCOUNT_BUDGET_SECONDS`` (24 h, a fixed window that
  starts at the first failure) lock the account for every device it does not know
  (429 ``account_locked``). This is the bound: **whatever the number of addresses, an
  attacker tests at most N passwords per account per 24-hour window** (so at most 2N in any
  24 hours that straddle two windows);
* **known device** — a sign-in that sends a valid ``device_token`` of the account (returned
  by an earlier successful sign-in, ``apps.accounts.devices``) is counted on that device
  alone (5 per window), so the owner signs in at the first correct try while the account is
  attacked from anywhere, the owner's own address included.

A failed sign-in on an account that exists and on one that does not are counted and answered
alike (the account ident is the user's id, else a keyed hash of the login), locked or not.

Race-free by reservation: ``login_attempt_begin`` counts the attempt as a failure before the
password is checked, in the same store transaction that checks the locks, so parallel
attempts can never test more passwords than the limits. ``login_attempt_succeeded`` resets
the account × source (or device) counter and gives the attempt's slot back to the source and
the budget; ``login_attempt_failed`` audits each lock this failure has just set
(``auth.lockout``, outcome ``denied``).

Keys live under the public schema (a person is one identity across agencies):
``("public", "lockout", scope, ident…, "count" | "since")``; nothing personal is stored.

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

from apps.accounts.devices import device_token_read
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
ACCOUNT_SOURCE = "account_source"  # one account from one address
ACCOUNT = "account"  # the account's budget, all sources together
SOURCE = "source"  # one address, all accounts together
DEVICE = "device"  # one account from a device that signed in to it before
_ACCOUNT_SCOPES = frozenset({ACCOUNT_SOURCE, ACCOUNT, DEVICE})
# Reset by a successful sign-in; the others only get the attempt's own slot back.
_RESET_SCOPES = frozenset({ACCOUNT_SOURCE, DEVICE})


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
    scope: str
    parts: tuple[str, ...]
    limit: int
    window: int

    def key(self, part: str) -> bytes:
        return hot_key(get_public_schema_name(), NAMESPACE, self.scope, *self.parts, part)


@dataclass(frozen=True)
class LoginAttempt:
    """One sign-in attempt, its failure already reserved in the counters."""

    counters: tuple[_Counter, ...]
    counts: tuple[int, ...]  # each counter's value including this attempt
    user_id: str | None
    device_id: str | None = None  # the known device it came from, if any


@dataclass(frozen=True)
class _Account:
    ident: str
    user_id: str | None
    password_hash: str


def _account(login: str) -> _Account:
    """The user's id when the login names a person, else a keyed hash of the login."""
    try:
        field, value = normalize_login(login)
    except ValidationError:
        field, value = "raw", login.strip().lower()
    else:
        row = User.objects.filter(**{field: value}).values_list("id", "password").first()
        if row is not None:
            return _Account(f"user:{row[0]}", str(row[0]), row[1])
    digest = salted_hmac("guichet.lockout.login", f"{field}:{value}", algorithm="sha256")
    return _Account(f"login:{digest.hexdigest()}", None, "")


def _counters(account: _Account, source: str | None, device_id: str | None) -> list[_Counter]:
    window = int(settings.LOCKOUT_WINDOW_SECONDS)
    per_account = int(settings.LOCKOUT_ACCOUNT_MAX_FAILURES)
    if device_id is not None:
        return [_Counter(DEVICE, (account.ident, device_id), per_account, window)]
    counters = [
        _Counter(ACCOUNT_SOURCE, (account.ident, source or "-"), per_account, window),
        _Counter(
            ACCOUNT,
            (account.ident,),
            int(settings.LOCKOUT_ACCOUNT_DAILY_FAILURES),
            int(settings.LOCKOUT_ACCOUNT_BUDGET_SECONDS),
        ),
    ]
    if source:
        counters.append(
            _Counter(SOURCE, (source,), int(settings.LOCKOUT_SOURCE_MAX_FAILURES), window)
        )
    return counters


def _unavailable(exc: StoreUnavailable) -> ServiceUnavailableError:
    logger.warning("lockout_store_unavailable")
    return ServiceUnavailableError()


def login_attempt_begin(
    *, login: str, source: str | None, device_token: str | None = None
) -> LoginAttempt:
    """Refuse a locked account or source (429), else reserve this attempt as a failure.

    ``device_token``: what an earlier successful sign-in returned on this device, if any.
    Raises ``LoginLocked`` (429 ``account_locked`` / ``source_locked``) or
    ``ServiceUnavailableError`` (503) when the store cannot be reached. Call it before the
    password is checked, then ``login_attempt_failed`` or ``login_attempt_succeeded``.
    """
    account = _account(login)
    device_id = None
    if device_token and account.user_id is not None:
        device_id = device_token_read(
            device_token, user_id=account.user_id, password_hash=account.password_hash
        )
    counters = _counters(account, source, device_id)

    def reserve(tx: HotKeyTransaction) -> tuple[str, int] | tuple[int, ...]:
        for counter in counters:
            raw = tx.get(counter.key("count"))
            if raw is not None and unpack_counter(raw) >= counter.limit:
                since = tx.get(counter.key("since"))
                started = unpack_counter(since) if since is not None else tx.now_ms
                left = math.ceil((started + counter.window * 1000 - tx.now_ms) / 1000)
                return counter.scope, max(1, left)
        counts = []
        for counter in counters:
            count = tx.add(counter.key("count"), 1, ttl=counter.window)
            if count == 1:
                tx.set(counter.key("since"), pack_counter(tx.now_ms), ttl=counter.window)
            counts.append(count)
        return tuple(counts)

    try:
        outcome = get_store().transaction(reserve)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from exc
    if isinstance(outcome[0], str):
        scope, retry_after = outcome
        logger.info("login_refused_locked", scope=scope)
        raise (source_locked if scope == SOURCE else account_locked)(int(retry_after))
    return LoginAttempt(
        counters=tuple(counters),
        counts=tuple(int(c) for c in outcome),
        user_id=account.user_id,
        device_id=device_id,
    )


def login_attempt_failed(attempt: LoginAttempt) -> None:
    """The password was wrong: audit each lock this failure has just set."""
    for counter, count in zip(attempt.counters, attempt.counts, strict=True):
        if count != counter.limit:
            continue
        logger.warning("login_locked", scope=counter.scope)
        on_person = counter.scope in _ACCOUNT_SCOPES and attempt.user_id
        audit_record(
            action="auth.lockout",
            target_type="user" if on_person else counter.scope,
            target_id=attempt.user_id if on_person else "",
            changes={"scope": {"old": None, "new": counter.scope}},
            outcome=Outcome.DENIED,
            platform=True,
        )


def login_attempt_succeeded(attempt: LoginAttempt) -> None:
    """The password was right: reset the account × source (or device) counter, give the
    source and the account budget this attempt's slot back.

    Never raises: if the store is down now, the reservation simply stays counted (stricter,
    never looser).
    """

    def release(tx: HotKeyTransaction) -> None:
        for counter in attempt.counters:
            if counter.scope in _RESET_SCOPES:
                tx.delete(counter.key("count"))
                tx.delete(counter.key("since"))
                continue
            raw = tx.get(counter.key("count"))
            if raw is not None and unpack_counter(raw) > 0:
                tx.add(counter.key("count"), -1)

    try:
        get_store().transaction(release)
    except StoreUnavailable:
        logger.warning("lockout_store_unavailable", phase="release")
