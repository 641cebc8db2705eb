"""The hot-key store interface, the value encoding, and the operations shared by backends.

Values carry their own expiry so that every backend stores the same bytes::

    value = expires_at_ms (8 bytes, unsigned big-endian, 0 = never) + payload

An expired value is invisible to ``get``, ``range``, ``add`` and ``compare_and_set`` from the
millisecond it expires; ``purge_expired`` reclaims the space later. Counters are a payload of
exactly 8 bytes holding a signed little-endian int64 (FoundationDB's ``ADD`` layout) and wrap
around on overflow like FoundationDB's ``ADD`` does.

Backends implement four raw primitives on a transaction (get, put, delete, scan) plus
``_run_transaction`` and ``ping``; every public operation is written once, here, on top of
them, which is what keeps the backends' behaviour identical (tests/hotkeys/test_contract.py).

Failure policy: a backend that cannot be reached raises ``StoreUnavailable``. Security
decisions (lockouts, one-time codes, the token denylist) must fail closed on it; rate limits
may fail open, logging and counting the event.
"""

from __future__ import annotations

import math
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from apps.hotkeys.keys import KEYSPACE_BEGIN, KEYSPACE_END, MAX_KEY_BYTES, prefix_end

T = TypeVar("T")

HEADER = struct.Struct(">Q")
HEADER_BYTES = HEADER.size
COUNTER = struct.Struct("<q")
# FoundationDB's value limit is 100,000 bytes including our header.
MAX_VALUE_BYTES = 100_000 - HEADER_BYTES
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
NO_EXPIRY = 0


class StoreUnavailable(Exception):
    """The backend cannot be reached or cannot accept the write (full, closed, timed out).

    Callers decide the policy: security checks fail closed (answer 503), rate limits may fail
    open. The message never contains keys or values. ``reason`` says why, for /readyz and the
    ``guichet_hotkeys_errors_total`` metric: ``map_full`` (the LMDB map reservation is used
    up), ``disk_full``, ``read_only``, or ``unavailable`` (anything else).
    """

    def __init__(self, message: str = "", *, reason: str = "unavailable") -> None:
        super().__init__(message)
        self.reason = reason


class NotACounter(ValueError):
    """``add`` found a live value whose payload is not an 8-byte int64."""


# --- value encoding -----------------------------------------------------------------------


def encode_value(payload: bytes, expires_at_ms: int) -> bytes:
    """Prefix ``payload`` with its expiry (epoch milliseconds, ``0`` = never)."""
    return HEADER.pack(expires_at_ms) + payload


def decode_value(raw: bytes) -> tuple[int, bytes]:
    """Split a stored value into ``(expires_at_ms, payload)``."""
    if len(raw) < HEADER_BYTES:
        raise ValueError("stored hot-key value is shorter than its header")
    return HEADER.unpack_from(raw)[0], raw[HEADER_BYTES:]


def decode_expiry(raw: bytes) -> int:
    """Only the expiry of a stored value (cheaper than ``decode_value``)."""
    if len(raw) < HEADER_BYTES:
        raise ValueError("stored hot-key value is shorter than its header")
    expires_at_ms: int = HEADER.unpack_from(raw)[0]
    return expires_at_ms


def is_expired(expires_at_ms: int, now_ms: int) -> bool:
    """Whether a value with this expiry is invisible at ``now_ms``."""
    return expires_at_ms != NO_EXPIRY and expires_at_ms <= now_ms


def expiry_for(ttl: float | None, now_ms: int) -> int:
    """The expiry header for a value written at ``now_ms`` with ``ttl`` seconds to live."""
    if ttl is None:
        return NO_EXPIRY
    return now_ms + max(1, math.ceil(ttl * 1000))


def pack_counter(value: int) -> bytes:
    """The payload of a counter holding ``value`` (int64 little-endian)."""
    return COUNTER.pack(value)


def unpack_counter(payload: bytes) -> int:
    """Read a counter payload as returned by ``get``."""
    if len(payload) != COUNTER.size:
        raise NotACounter("hot-key value is not an int64 counter")
    value: int = COUNTER.unpack(payload)[0]
    return value


def wrap_int64(value: int) -> int:
    """Two's-complement wrap-around, matching FoundationDB's ``ADD`` on 8 bytes."""
    return ((value - INT64_MIN) % 2**64) + INT64_MIN


# --- argument checks (cheap: these run on every operation) -----------------------------------


def check_key(key: bytes) -> None:
    """Reject keys that one of the backends could not store."""
    if not isinstance(key, bytes):
        raise TypeError("hot-key keys are bytes: build them with apps.hotkeys.keys.hot_key")
    if not key or len(key) > MAX_KEY_BYTES:
        raise ValueError("hot-key key is empty or longer than MAX_KEY_BYTES")


def _check_value(value: bytes) -> None:
    if not isinstance(value, bytes):
        raise TypeError("hot-key values are bytes")
    if len(value) > MAX_VALUE_BYTES:
        raise ValueError("hot-key value is longer than MAX_VALUE_BYTES")


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError("ttl must be a positive number of seconds or None")


def _check_delta(delta: int) -> None:
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError("delta must be an int")
    if not INT64_MIN <= delta <= INT64_MAX:
        raise ValueError("delta must fit in an int64")


# --- transactions ------------------------------------------------------------------------


class HotKeyTransaction(ABC):
    """The operations available inside ``HotKeyStore.transaction(fn)``, all-or-nothing.

    ``now_ms`` is fixed when the transaction (or the attempt, when a backend retries) starts,
    so every expiry decision inside one transaction uses the same clock reading.
    """

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    # Raw primitives: stored bytes, headers included. Backends implement these.

    @abstractmethod
    def _raw_get(self, key: bytes) -> bytes | None:
        """The stored bytes under ``key``, expired or not."""

    @abstractmethod
    def _raw_put(self, key: bytes, raw: bytes) -> None:
        """Store ``raw`` (header included) under ``key``."""

    @abstractmethod
    def _raw_delete(self, key: bytes) -> None:
        """Remove ``key`` if present."""

    @abstractmethod
    def _raw_scan(
        self, begin: bytes, end: bytes, limit: int | None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Stored ``(key, raw)`` pairs with ``begin <= key < end`` in key order."""

    def _raw_add(self, key: bytes, expires_at_ms: int, delta: int, new_value: int) -> None:
        """Apply ``delta`` to the live counter under ``key`` (whose new value is known).

        The default rewrites the value; FoundationDB overrides it with its atomic ``ADD``.
        """
        self._raw_put(key, encode_value(pack_counter(new_value), expires_at_ms))

    # Public operations.

    def get(self, key: bytes) -> bytes | None:
        """The payload under ``key``, or ``None`` if absent or expired."""
        check_key(key)
        raw = self._raw_get(key)
        if raw is None:
            return None
        expires_at_ms, payload = decode_value(raw)
        return None if is_expired(expires_at_ms, self.now_ms) else payload

    def set(self, key: bytes, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds (``None`` = never)."""
        check_key(key)
        _check_value(value)
        _check_ttl(ttl)
        self._raw_put(key, encode_value(value, expiry_for(ttl, self.now_ms)))

    def delete(self, key: bytes) -> None:
        """Remove ``key``; removing an absent key is not an error."""
        check_key(key)
        self._raw_delete(key)

    def add(self, key: bytes, delta: int, ttl: float | None = None) -> int:
        """Add ``delta`` to the int64 counter under ``key`` and return the new value.

        An absent or expired counter starts from 0 and gets ``ttl`` (``None`` = never); a live
        counter keeps the expiry it was created with (a fixed window: ``ttl`` is ignored).
        Raises ``NotACounter`` if a live value is not an 8-byte counter.
        """
        check_key(key)
        _check_delta(delta)
        _check_ttl(ttl)
        raw = self._raw_get(key)
        if raw is not None:
            expires_at_ms, payload = decode_value(raw)
            if not is_expired(expires_at_ms, self.now_ms):
                new_value = wrap_int64(unpack_counter(payload) + delta)
                self._raw_add(key, expires_at_ms, delta, new_value)
                return new_value
        self._raw_put(key, encode_value(pack_counter(delta), expiry_for(ttl, self.now_ms)))
        return delta

    def compare_and_set(
        self,
        key: bytes,
        expected: bytes | None,
        new: bytes | None,
        ttl: float | None = None,
    ) -> bool:
        """Replace the payload under ``key`` by ``new`` only if it currently equals ``expected``.

        ``expected=None`` means the key must be absent (or expired); ``new=None`` deletes it.
        The new value gets ``ttl`` (``None`` = never; the old expiry is not carried over).
        Returns whether the swap happened.
        """
        check_key(key)
        if expected is not None:
            _check_value(expected)
        if new is not None:
            _check_value(new)
        _check_ttl(ttl)
        if self.get(key) != expected:
            return False
        if new is None:
            self._raw_delete(key)
        else:
            self._raw_put(key, encode_value(new, expiry_for(ttl, self.now_ms)))
        return True

    def range(self, prefix: bytes, limit: int | None = None) -> list[tuple[bytes, bytes]]:
        """Live ``(key, payload)`` pairs whose key starts with ``prefix``, in key order.

        Build ``prefix`` with ``apps.hotkeys.keys.hot_prefix`` so that it starts with the
        tenant schema. ``limit`` counts live entries (expired ones are skipped, not counted).
        """
        if not isinstance(prefix, bytes) or not prefix:
            raise ValueError("range needs a non-empty bytes prefix (use hot_prefix)")
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        result: list[tuple[bytes, bytes]] = []
        if limit == 0:
            return result
        for key, raw in self._raw_scan(prefix, prefix_end(prefix), None):
            expires_at_ms, payload = decode_value(raw)
            if is_expired(expires_at_ms, self.now_ms):
                continue
            result.append((key, payload))
            if limit is not None and len(result) >= limit:
                break
        return result


# --- stores ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    items: list[tuple[bytes, bytes]]
    next_begin: bytes | None


class HotKeyStore(ABC):
    """A hot-key store backend. One instance per process (see ``registry.get_store``).

    Every operation is atomic on its own; ``transaction(fn)`` groups several. Inside ``fn``
    use only the ``tx`` argument: calling the store again from inside a transaction raises
    ``RuntimeError`` (with LMDB it would deadlock on the writer lock).
    """

    backend_name: ClassVar[str] = "abstract"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._local = threading.local()

    def now_ms(self) -> int:
        """The store's clock in epoch milliseconds (injectable for tests)."""
        return int(self._clock() * 1000)

    def _check_not_in_transaction(self) -> None:
        if getattr(self._local, "in_transaction", False):
            raise RuntimeError("inside transaction(fn): use the tx argument, not the store")

    # Backend hooks.

    @abstractmethod
    def _run_transaction(self, fn: Callable[[HotKeyTransaction], T]) -> T:
        """Run ``fn`` in one backend transaction, mapping backend errors to StoreUnavailable."""

    @abstractmethod
    def ping(self) -> None:
        """Return if the backend answers; raise ``StoreUnavailable`` otherwise (readiness)."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for network backends
        """Release process-local resources. The registry never calls this across a fork."""

    # Public API.

    def transaction(self, fn: Callable[[HotKeyTransaction], T]) -> T:
        """Run ``fn(tx)`` atomically and return its result.

        A backend may call ``fn`` more than once when the transaction conflicts (FoundationDB
        retries on conflict; LMDB serialises writers and runs it once), so ``fn`` must not
        have side effects outside ``tx``. If ``fn`` raises, nothing it wrote is kept.
        """
        self._check_not_in_transaction()
        self._local.in_transaction = True
        try:
            return self._run_transaction(fn)
        finally:
            self._local.in_transaction = False

    def get(self, key: bytes) -> bytes | None:
        """The payload under ``key``, or ``None`` if absent or expired."""
        return self.transaction(lambda tx: tx.get(key))

    def set(self, key: bytes, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (``None`` = no expiry)."""
        self.transaction(lambda tx: tx.set(key, value, ttl))

    def delete(self, key: bytes) -> None:
        """Remove ``key`` (absent is fine)."""
        self.transaction(lambda tx: tx.delete(key))

    def add(self, key: bytes, delta: int, ttl: float | None = None) -> int:
        """Atomically add ``delta`` to the counter under ``key``; see ``HotKeyTransaction.add``."""
        return self.transaction(lambda tx: tx.add(key, delta, ttl))

    def compare_and_set(
        self,
        key: bytes,
        expected: bytes | None,
        new: bytes | None,
        ttl: float | None = None,
    ) -> bool:
        """Atomic compare-and-set; see ``HotKeyTransaction.compare_and_set``."""
        return self.transaction(lambda tx: tx.compare_and_set(key, expected, new, ttl))

    def range(self, prefix: bytes, limit: int | None = None) -> list[tuple[bytes, bytes]]:
        """Live pairs under ``prefix`` in key order; see ``HotKeyTransaction.range``."""
        return self.transaction(lambda tx: tx.range(prefix, limit))

    # Maintenance and tooling.

    def purge_expired(self, batch: int = 1000) -> int:
        """Delete expired values across the whole hot-key keyspace; return how many.

        Works in transactions of at most ``batch`` scanned keys so that writers (LMDB) and
        FoundationDB's five-second transaction limit are never held up for long. Safe to run
        concurrently with normal traffic and with itself.
        """
        if batch < 1:
            raise ValueError("batch must be >= 1")
        deleted = 0
        begin: bytes | None = KEYSPACE_BEGIN
        page_size = batch
        while begin is not None:
            page_begin = begin

            def purge_page(
                tx: HotKeyTransaction, page_begin: bytes = page_begin, page_size: int = page_size
            ) -> _Page:
                scanned = list(tx._raw_scan(page_begin, KEYSPACE_END, page_size))
                expired = []
                for key, raw in scanned:
                    try:
                        expires_at_ms, _ = decode_value(raw)
                    except ValueError:
                        continue  # not ours to judge: leave malformed values alone
                    if is_expired(expires_at_ms, tx.now_ms):
                        tx._raw_delete(key)
                        expired.append((key, raw))
                next_begin = scanned[-1][0] + b"\x00" if len(scanned) == page_size else None
                return _Page(items=expired, next_begin=next_begin)

            try:
                page = self.transaction(purge_page)
            except StoreUnavailable as exc:
                # A full LMDB map cannot even hold the copy-on-write pages of a large delete:
                # smaller pages still fit, and each one frees room for the next. This is what
                # lets the store recover from a full map without a restart.
                if exc.reason != "map_full" or page_size == 1:
                    raise
                page_size = max(1, page_size // 4)
                continue
            deleted += len(page.items)
            begin = page.next_begin
            page_size = min(batch, page_size * 2)
        return deleted

    def iter_raw(
        self, prefix: bytes | None = None, batch: int = 500
    ) -> Iterator[list[tuple[bytes, bytes]]]:
        """Yield pages of stored ``(key, raw)`` pairs, expiry headers included, in key order.

        ``prefix=None`` covers the whole hot-key keyspace. Each page is read in its own
        transaction, so the pages are not one consistent snapshot. For tooling (copy, backup).
        """
        if batch < 1:
            raise ValueError("batch must be >= 1")
        begin = KEYSPACE_BEGIN if prefix is None else prefix
        end = KEYSPACE_END if prefix is None else prefix_end(prefix)
        next_begin: bytes | None = begin
        while next_begin is not None:
            page_begin = next_begin

            def read_page(tx: HotKeyTransaction, page_begin: bytes = page_begin) -> _Page:
                items = list(tx._raw_scan(page_begin, end, batch))
                more = len(items) == batch
                return _Page(items=items, next_begin=items[-1][0] + b"\x00" if more else None)

            page = self.transaction(read_page)
            if page.items:
                yield page.items
            next_begin = page.next_begin

    def put_raw(self, items: Iterable[tuple[bytes, bytes]]) -> int:
        """Write stored ``(key, raw)`` pairs as they are (expiry headers kept); return count.

        All pairs are written in one transaction; callers pass pages from ``iter_raw``.
        """
        pairs = list(items)
        for key, raw in pairs:
            check_key(key)
            decode_value(raw)

        def write(tx: HotKeyTransaction) -> int:
            for key, raw in pairs:
                tx._raw_put(key, raw)
            return len(pairs)

        return self.transaction(write)
