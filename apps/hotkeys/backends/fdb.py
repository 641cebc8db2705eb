"""FoundationDB backend: the same keys and value bytes as LMDB, on a distributed cluster.

Written against the official ``fdb`` Python bindings. The bindings are imported lazily (the
``fdb.tuple`` key codec is pure Python, but ``fdb.api_version`` needs ``libfdb_c``), so this
module imports on machines without the client library; using the store there raises
``StoreUnavailable``.

Every operation runs in the bindings' ``@fdb.transactional`` retry loop: on a conflict or a
retryable error the whole function runs again in a fresh transaction, which is why
``transaction(fn)`` asks ``fn`` to have no side effects outside ``tx``. The database's
``transaction_timeout`` and ``transaction_retry_limit`` options bound that loop, so an
unreachable cluster surfaces as ``StoreUnavailable`` after ``timeout_ms`` instead of hanging.

TTL: FoundationDB has no expiry, so values carry the same 8-byte expiry header as in LMDB,
reads hide expired values, and ``purge_expired`` deletes them.

Counters (``add``): read-modify-write inside the transactional retry, with the mutation done
by FoundationDB's atomic ``ADD``. The read of the current value is deliberately *not* a
snapshot read: ``add`` returns the new value and callers act on it (lockout after N failures,
rate limit after N requests), so two concurrent increments must never both observe the same
total. With a conflict-checked read, FoundationDB aborts one of them and the retry loop runs
it again on the new value, giving exact, serialisable counts. The read also tells us whether
the counter is absent or expired, in which case it is recreated with ``tr.set`` and the new
TTL (a fixed window, as in LMDB). For a live counter the mutation is
``tr.add(key, 8 zero bytes + int64 LE delta)``: ADD is a little-endian addition over the
parameter's 16 bytes, the zero low-order bytes leave the expiry header untouched and cannot
carry, and the carry out of the top byte is dropped, which is exactly int64 wrap-around.
The cost of exactness is that one very hot key is limited by conflicts; per-user and per-IP
counters spread over many keys and do not notice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog

from apps.hotkeys.base import (
    HEADER_BYTES,
    HotKeyStore,
    HotKeyTransaction,
    StoreUnavailable,
    T,
    pack_counter,
    wrap_int64,
)

logger = structlog.get_logger(__name__)

API_VERSION = 730
DEFAULT_TIMEOUT_MS = 2000
DEFAULT_RETRY_LIMIT = 20

_api_lock = threading.Lock()


def _load_bindings(api_version: int) -> Any:
    """Import ``fdb`` and select the API version once per process (it is process-global)."""
    import fdb  # lazy: selecting the API version loads libfdb_c

    with _api_lock:
        # Another component may have selected a version already; the bindings refuse a second,
        # different one, and any version >= 630 offers everything used here.
        if not fdb.is_api_version_selected():
            fdb.api_version(api_version)
    return fdb


class _FDBTransaction(HotKeyTransaction):
    """Raw primitives over one ``fdb.Transaction`` (one attempt of the retry loop)."""

    def __init__(self, tr: Any, now_ms: int) -> None:
        super().__init__(now_ms)
        self._tr = tr

    def _raw_get(self, key: bytes) -> bytes | None:
        value = self._tr.get(key)
        return bytes(value) if value.present() else None

    def _raw_put(self, key: bytes, raw: bytes) -> None:
        self._tr.set(key, raw)

    def _raw_delete(self, key: bytes) -> None:
        self._tr.clear(key)

    def _raw_scan(
        self, begin: bytes, end: bytes, limit: int | None
    ) -> Iterator[tuple[bytes, bytes]]:
        # The default iterator streaming mode fetches growing batches lazily, so a caller
        # that stops early (range with a limit) does not read the whole prefix.
        for kv in self._tr.get_range(begin, end, limit=limit or 0):
            yield bytes(kv.key), bytes(kv.value)

    def _raw_add(self, key: bytes, expires_at_ms: int, delta: int, new_value: int) -> None:
        # See the module docstring: ADD over header+payload with a zero header addend.
        self._tr.add(key, bytes(HEADER_BYTES) + pack_counter(wrap_int64(delta)))


def _attempt(tr: Any, fn: Callable[[HotKeyTransaction], Any], clock_ms: Callable[[], int]) -> Any:
    """One attempt of ``fn``; wrapped with ``fdb.transactional`` (parameter named ``tr``)."""
    return fn(_FDBTransaction(tr, clock_ms()))


class FoundationDBStore(HotKeyStore):
    """Hot-key store on a FoundationDB cluster.

    Options: ``cluster_file`` (path; empty means the client's default cluster file),
    ``timeout_ms`` (per transaction including retries, default 2000) and ``retry_limit``
    (default 20). The connection is opened on first use, not at construction.
    """

    backend_name = "foundationdb"

    def __init__(
        self,
        cluster_file: str | None = None,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        retry_limit: int = DEFAULT_RETRY_LIMIT,
        api_version: int = API_VERSION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.cluster_file = cluster_file or None
        self._timeout_ms = int(timeout_ms)
        self._retry_limit = int(retry_limit)
        self._api_version = api_version
        self._connect_lock = threading.Lock()
        self._fdb: Any = None
        self._db: Any = None
        self._transactional: Any = None

    def _connect(self) -> tuple[Any, Any]:
        """The bindings module and the database handle, opened once."""
        if self._db is None:
            with self._connect_lock:
                if self._db is None:
                    try:
                        fdb = _load_bindings(self._api_version)
                        db = fdb.open(self.cluster_file)
                        db.options.set_transaction_timeout(self._timeout_ms)
                        db.options.set_transaction_retry_limit(self._retry_limit)
                        self._transactional = fdb.transactional(_attempt)
                    except Exception as exc:  # no libfdb_c, bad cluster file, FDBError...
                        raise _unavailable("hotkeys_fdb_open_failed", exc) from exc
                    self._fdb = fdb
                    self._db = db
        return self._fdb, self._db

    def _run_transaction(self, fn: Callable[[HotKeyTransaction], T]) -> T:
        fdb, db = self._connect()
        try:
            result: T = self._transactional(db, fn, self.now_ms)
        except fdb.FDBError as exc:
            # Non-retryable, or retries/timeout exhausted (e.g. 1031 transaction_timed_out).
            raise _unavailable("hotkeys_fdb_transaction_failed", exc) from exc
        return result

    def ping(self) -> None:
        """Get a read version: needs the cluster controller and proxies to answer."""
        fdb, db = self._connect()
        try:
            db.create_transaction().get_read_version().wait()
        except fdb.FDBError as exc:
            raise _unavailable("hotkeys_fdb_ping_failed", exc) from exc


def _unavailable(event: str, exc: BaseException) -> StoreUnavailable:
    logger.warning(
        event,
        backend="foundationdb",
        error=type(exc).__name__,
        fdb_code=getattr(exc, "code", None),
    )
    return StoreUnavailable(event)
