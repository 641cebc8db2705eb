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
  ``StoreUnavailable`` (reason ``map_full``) and an ``hotkeys_lmdb_map_full`` event is logged.
  Expired values only free space once ``purge_expired`` runs (Celery task
  ``hotkeys_purge_expired``), which shrinks its transactions until they fit in a full map;
* recovery without a restart: an environment that failed (LMDB panic, I/O error, closed
  underneath) or whose files were replaced (a new volume mounted over the path: checked by
  ``ping``, i.e. by /readyz) is closed and opened again on the next operation, at most once a
  second and only while no other operation of this process is using it. A full disk or a
  read-only file system is reported as the reason (``disk_full``, ``read_only``) and counted in
  ``guichet_hotkeys_errors_total``.
"""

from __future__ import annotations

import errno
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import lmdb
import structlog

from apps.core import metrics
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
# Below this much free space on the file system a failed write is reported as ``disk_full``.
DISK_FULL_BYTES = 256 * 1024
# A broken environment is reopened at most this often (seconds).
REOPEN_INTERVAL = 1.0


class _InheritedEnvironment:
    """Stands in, in a forked child, for an environment the parent opened (or, while it is
    being reopened, for one that was closed)."""

    def __init__(self, message: str = "LMDB environment inherited through fork") -> None:
        self.message = message

    def begin(self, *args: object, **kwargs: object) -> lmdb.Transaction:
        raise lmdb.Error(self.message)

    def reader_check(self) -> int:
        raise lmdb.Error(self.message)

    def sync(self, force: bool = False) -> None:
        raise lmdb.Error(self.message)

    def close(self) -> None:
        """Nothing to close in this process."""


_INHERITED = _InheritedEnvironment()
_CLOSED = _InheritedEnvironment("LMDB environment closed for reopening")
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
        self._map_size = int(map_size)
        self._max_readers = int(max_readers)
        self._sync = bool(sync)
        # One token per operation in flight (list.append/pop are atomic under the GIL): lets a
        # forked child know whether the parent had a transaction open at fork time, and a
        # reopening know that nobody is using the environment it closes.
        self._inflight: list[None] = []
        self._detached = False
        self._broken = False
        self._next_reopen_at = 0.0
        self._reopen_lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
        try:
            self._env: lmdb.Environment | _InheritedEnvironment = self._open()
        except (OSError, lmdb.Error) as exc:
            raise self._unavailable("hotkeys_lmdb_open_failed", exc) from exc
        _open_stores.add(self)

    def _open(self) -> lmdb.Environment:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = lmdb.open(
            str(self.path),
            map_size=self._map_size,
            subdir=True,
            max_dbs=0,
            max_readers=self._max_readers,
            sync=self._sync,
            metasync=self._sync,
            readahead=False,
            meminit=False,
        )
        try:
            # Free reader slots left behind by processes that died mid-read.
            env.reader_check()
            self._identity = _file_identity(self.path)
        except BaseException:
            env.close()
            raise
        return env

    # Failure handling and reopening.

    def _reason(self, exc: BaseException) -> str:
        """Why an operation failed, as reported by /readyz and the metric."""
        if isinstance(exc, lmdb.MapFullError):
            return "map_full"
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk_full"
        if isinstance(exc, OSError) and exc.errno == errno.EROFS:
            return "read_only"
        try:
            stats = os.statvfs(self.path if self.path.exists() else self.path.parent)
        except OSError:
            return "unavailable"
        if stats.f_flag & os.ST_RDONLY:
            return "read_only"
        if stats.f_bavail * stats.f_frsize < DISK_FULL_BYTES:
            return "disk_full"
        return "unavailable"

    def _unavailable(self, event: str, exc: BaseException) -> StoreUnavailable:
        reason = self._reason(exc)
        # The event and the exception class only: LMDB messages can contain paths, never values.
        logger.warning(event, backend="lmdb", error=type(exc).__name__, reason=reason)
        metrics.HOTKEYS_ERRORS.labels(reason=reason).inc()
        return StoreUnavailable(event, reason=reason)

    def _failed(self, event: str, exc: BaseException) -> StoreUnavailable:
        """Map an LMDB failure, marking the environment for reopening unless the map is full
        (a full map is a state of the data, not of the environment)."""
        if not isinstance(exc, lmdb.MapFullError | lmdb.ReadersFullError):
            self._broken = True
        return self._unavailable(event, exc)

    def _usable_env(self) -> lmdb.Environment | _InheritedEnvironment:
        """The environment to use now, reopening a broken one first when that is safe."""
        if self._broken and not self._detached:
            self._reopen()
        return self._env

    def _reopen(self) -> None:
        if time.monotonic() < self._next_reopen_at or not self._reopen_lock.acquire(blocking=False):
            return  # the next operation fails on the broken environment and tries again
        try:
            if not self._broken or self._inflight:
                return  # another thread reopened it, or is using the old one: not now
            self._next_reopen_at = time.monotonic() + REOPEN_INTERVAL
            old, self._env = self._env, _CLOSED
            old.close()
            try:
                self._env = self._open()
            except (OSError, lmdb.Error) as exc:
                raise self._unavailable("hotkeys_lmdb_reopen_failed", exc) from exc
            self._broken = False
            metrics.HOTKEYS_REOPENED.inc()
            logger.info("hotkeys_lmdb_reopened", backend="lmdb")
        finally:
            self._reopen_lock.release()

    # Reads use read-only snapshots: they never wait for writers.

    def get(self, key: bytes) -> bytes | None:
        """The payload under ``key``, or ``None`` if absent or expired.

        The hottest path of the store, so it inlines ``HotKeyTransaction.get`` (same rules:
        the contract suite runs both).
        """
        self._check_not_in_transaction()
        check_key(key)
        env = self._usable_env()
        self._inflight.append(None)
        try:
            with env.begin() as txn:
                raw = cast("bytes | None", txn.get(key))
        except lmdb.Error as exc:
            raise self._failed("hotkeys_lmdb_read_failed", exc) from exc
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
        env = self._usable_env()
        self._inflight.append(None)
        try:
            with env.begin() as txn:
                return _LMDBTransaction(txn, self.now_ms()).range(prefix, limit)
        except lmdb.Error as exc:
            raise self._failed("hotkeys_lmdb_read_failed", exc) from exc
        finally:
            self._inflight.pop()

    def _run_transaction(self, fn: Callable[[HotKeyTransaction], T]) -> T:
        env = self._usable_env()
        self._inflight.append(None)
        try:
            # Commits when fn returns, aborts when it raises; LMDB serialises writers, so
            # there is never a conflict to retry.
            with env.begin(write=True) as txn:
                return fn(_LMDBTransaction(txn, self.now_ms()))
        except lmdb.MapFullError as exc:
            raise self._failed("hotkeys_lmdb_map_full", exc) from exc
        except lmdb.Error as exc:
            raise self._failed("hotkeys_lmdb_write_failed", exc) from exc
        finally:
            self._inflight.pop()

    def ping(self) -> None:
        """Open (and drop) a read snapshot: fails if the environment is closed or broken.

        Also notices that the files under ``path`` are no longer the ones this process opened
        (a volume remounted, the directory restored): the environment is then reopened.
        """
        if not self._detached and _file_identity(self.path) != self._identity:
            logger.warning("hotkeys_lmdb_files_replaced", backend="lmdb")
            self._broken = True
        env = self._usable_env()
        try:
            with env.begin() as txn:
                txn.id()
        except lmdb.Error as exc:
            raise self._failed("hotkeys_lmdb_ping_failed", exc) from exc

    def purge_expired(self, batch: int = 1000) -> int:
        """Delete expired values (see ``HotKeyStore.purge_expired``), then flush to disk."""
        deleted = super().purge_expired(batch=batch)
        try:
            self._env.reader_check()
            self._env.sync(True)
        except lmdb.Error as exc:
            raise self._failed("hotkeys_lmdb_sync_failed", exc) from exc
        return deleted

    def close(self) -> None:
        """Close the environment for good (a no-op for one detached after fork)."""
        self._detached = True  # closed on purpose: never reopened
        self._env.close()

    def _detach_after_fork(self) -> None:
        """In a forked child: make this store unusable and release what is safe to release."""
        env, self._env = self._env, _INHERITED
        self._detached = True
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


def _file_identity(path: Path) -> tuple[int, int] | None:
    """``(device, inode)`` of the data file under ``path``, or None if it cannot be read."""
    try:
        info = os.stat(path / "data.mdb")
    except OSError:
        return None
    return info.st_dev, info.st_ino
