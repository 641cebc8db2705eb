"""LMDB backend: an embedded store shared by every process on one machine.

One LMDB environment (a directory holding ``data.mdb`` and ``lock.mdb``) per configured path.
LMDB's own lock file coordinates processes: readers never block, and writers are serialised
by a process-shared mutex, so every operation that writes (set, delete, add,
compare_and_set, a ``transaction``) runs its read-modify-write inside one write transaction
and is atomic across processes. Reads (get, range) use read-only snapshots.

Because writers are serialised there are no conflicts, so ``transaction(fn)`` runs ``fn``
exactly once in one write transaction: it commits if ``fn`` returns and aborts if it raises.

Rules that keep LMDB safe:

* one ``Environment`` per process and path, never used across ``fork``. After a fork the
  child's copy of every ``LMDBStore`` is detached (its operations raise
  ``StoreUnavailable``) and ``registry.get_store`` opens a fresh one. The inherited
  environment is closed in the child only if no operation was in flight at fork time:
  closing it while another thread of the parent held a transaction would abort that
  transaction's reader slot in the shared lock table, under the parent's feet. Otherwise it
  is kept, untouched, and the child cannot reopen that path (py-lmdb refuses a second open
  in one process) and fails closed, logging ``hotkeys_lmdb_fork_during_transaction``;
* durability: ``sync=False`` (the default) skips ``fsync`` at commit. A crashed *process*
  loses nothing; an operating-system crash may lose the last commits. That is the usual
  trade for this kind of data (Redis makes the same one by default) and it is what makes
  writes cheap; set ``OPTIONS["sync"] = True`` to fsync every commit;
* the map is a fixed-size reservation (``map_size``): when it is full, writes raise
  ``StoreUnavailable`` and an ``hotkeys_lmdb_map_full`` event is logged. Expired values only
  free space once ``purge_expired`` runs (Celery task ``hotkeys_purge_expired``).
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import lmdb
import structlog

from apps.hotkeys.base import (
    HEADER_BYTES,
    NO_EXPIRY,
    HotKeyStore,
    HotKeyTransaction,
    StoreUnavailable,
    T,
    check_key,
    decode_expiry,
)

logger = structlog.get_logger(__name__)

DEFAULT_MAP_SIZE = 1024**3
DEFAULT_MAX_READERS = 512


class _InheritedEnvironment:
    """Stands in, in a forked child, for an environment the parent opened."""

    def begin(self, *args: object, **kwargs: object) -> lmdb.Transaction:
        raise lmdb.Error("LMDB environment inherited through fork: open a new store")

    def reader_check(self) -> int:
        raise lmdb.Error("LMDB environment inherited through fork: open a new store")

    def sync(self, force: bool = False) -> None:
        raise lmdb.Error("LMDB environment inherited through fork: open a new store")

    def close(self) -> None:
        """Nothing to close in this process."""


_INHERITED = _InheritedEnvironment()
# Every store opened in this process, to detach them in a forked child.
_open_stores: weakref.WeakSet[LMDBStore] = weakref.WeakSet()
# Environments a child must keep alive and never touch (see the module docstring).
_untouchable_environments: list[lmdb.Environment] = []


class _LMDBTransaction(HotKeyTransaction):
    """Raw primitives over one ``lmdb.Transaction`` (read-only or write)."""

    def __init__(self, txn: lmdb.Transaction, now_ms: int) -> None:
        super().__init__(now_ms)
        self._txn = txn

    def _raw_get(self, key: bytes) -> bytes | None:
        # Transactions are opened with buffers=False (the default), so LMDB returns bytes.
        return cast("bytes | None", self._txn.get(key))

    def _raw_put(self, key: bytes, raw: bytes) -> None:
        self._txn.put(key, raw)

    def _raw_delete(self, key: bytes) -> None:
        self._txn.delete(key)

    def _raw_scan(
        self, begin: bytes, end: bytes, limit: int | None
    ) -> Iterator[tuple[bytes, bytes]]:
        cursor = self._txn.cursor()
        if not cursor.set_range(begin):
            return
        pairs = cast("Iterator[tuple[bytes, bytes]]", cursor.iternext(keys=True, values=True))
        for count, (key, raw) in enumerate(pairs, start=1):
            if key >= end:
                return
            yield key, raw
            if limit is not None and count >= limit:
                return


class LMDBStore(HotKeyStore):
    """Hot-key store in an LMDB environment under ``path``.

    Options (``settings.HOTKEYS[alias]["OPTIONS"]``): ``path`` (directory, created 0700 if
    missing), ``map_size`` (bytes reserved for the map, default 1 GiB), ``sync`` (fsync at
    every commit, default False) and ``max_readers`` (concurrent read transactions across
    all processes and threads, default 512).
    """

    backend_name = "lmdb"

    def __init__(
        self,
        path: str | os.PathLike[str],
        map_size: int = DEFAULT_MAP_SIZE,
        *,
        sync: bool = False,
        max_readers: int = DEFAULT_MAX_READERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.path = Path(path)
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._env: lmdb.Environment | _InheritedEnvironment = lmdb.open(
                str(self.path),
                map_size=int(map_size),
                subdir=True,
                max_dbs=0,
                max_readers=int(max_readers),
                sync=sync,
                metasync=sync,
                readahead=False,
                meminit=False,
            )
            # Free reader slots left behind by processes that died mid-read.
            self._env.reader_check()
        except (OSError, lmdb.Error) as exc:
            raise _unavailable("hotkeys_lmdb_open_failed", exc) from exc
        # One token per operation in flight (list.append/pop are atomic under the GIL): lets a
        # forked child know whether the parent had a transaction open at fork time.
        self._inflight: list[None] = []
        _open_stores.add(self)

    # Reads use read-only snapshots: they never wait for writers.

    def get(self, key: bytes) -> bytes | None:
        """The payload under ``key``, or ``None`` if absent or expired.

        The hottest path of the store, so it inlines ``HotKeyTransaction.get`` (same rules:
        the contract suite runs both).
        """
        self._check_not_in_transaction()
        check_key(key)
        self._inflight.append(None)
        try:
            with self._env.begin() as txn:
                raw = cast("bytes | None", txn.get(key))
        except lmdb.Error as exc:
            raise _unavailable("hotkeys_lmdb_read_failed", exc) from exc
        finally:
            self._inflight.pop()
        if raw is None:
            return None
        expires_at_ms = decode_expiry(raw)
        if expires_at_ms != NO_EXPIRY and expires_at_ms <= self.now_ms():
            return None
        return raw[HEADER_BYTES:]

    def range(self, prefix: bytes, limit: int | None = None) -> list[tuple[bytes, bytes]]:
        """Live pairs under ``prefix`` in key order, from one consistent snapshot."""
        self._check_not_in_transaction()
        self._inflight.append(None)
        try:
            with self._env.begin() as txn:
                return _LMDBTransaction(txn, self.now_ms()).range(prefix, limit)
        except lmdb.Error as exc:
            raise _unavailable("hotkeys_lmdb_read_failed", exc) from exc
        finally:
            self._inflight.pop()

    def _run_transaction(self, fn: Callable[[HotKeyTransaction], T]) -> T:
        self._inflight.append(None)
        try:
            # Commits when fn returns, aborts when it raises; LMDB serialises writers, so
            # there is never a conflict to retry.
            with self._env.begin(write=True) as txn:
                return fn(_LMDBTransaction(txn, self.now_ms()))
        except lmdb.MapFullError as exc:
            raise _unavailable("hotkeys_lmdb_map_full", exc) from exc
        except lmdb.Error as exc:
            raise _unavailable("hotkeys_lmdb_write_failed", exc) from exc
        finally:
            self._inflight.pop()

    def ping(self) -> None:
        """Open (and drop) a read snapshot: fails if the environment is closed or broken."""
        try:
            with self._env.begin() as txn:
                txn.id()
        except lmdb.Error as exc:
            raise _unavailable("hotkeys_lmdb_ping_failed", exc) from exc

    def purge_expired(self, batch: int = 1000) -> int:
        """Delete expired values (see ``HotKeyStore.purge_expired``), then flush to disk."""
        deleted = super().purge_expired(batch=batch)
        try:
            self._env.reader_check()
            self._env.sync(True)
        except lmdb.Error as exc:
            raise _unavailable("hotkeys_lmdb_sync_failed", exc) from exc
        return deleted

    def close(self) -> None:
        """Close the environment (a no-op for one detached after fork)."""
        self._env.close()

    def _detach_after_fork(self) -> None:
        """In a forked child: make this store unusable and release what is safe to release."""
        env, self._env = self._env, _INHERITED
        if isinstance(env, _InheritedEnvironment):
            return
        if self._inflight:
            _untouchable_environments.append(env)
            logger.warning("hotkeys_lmdb_fork_during_transaction", backend="lmdb")
        else:
            # No transaction handle exists, so closing only drops this process's file
            # descriptors and mapping, and lets py-lmdb open the path again here.
            env.close()


def _detach_stores_after_fork() -> None:
    for store in list(_open_stores):
        store._detach_after_fork()


os.register_at_fork(after_in_child=_detach_stores_after_fork)


def _unavailable(event: str, exc: BaseException) -> StoreUnavailable:
    # The event and the exception class only: LMDB messages can contain paths, never values.
    logger.warning(event, backend="lmdb", error=type(exc).__name__)
    return StoreUnavailable(event)
