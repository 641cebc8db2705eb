"""An in-memory stand-in for the subset of the ``fdb`` bindings that FoundationDBStore uses.

No FoundationDB client library can be installed on the CI machine, so this fake lets the
backend's own logic (value encoding, the ADD parameter, error mapping, the retry loop) run
in the contract suite. It mirrors the documented semantics that matter here:

* optimistic concurrency: a transaction reads at the version it started from and its commit
  fails with error 1020 (not_committed) if another commit wrote a key it read since;
* read-your-writes inside a transaction, including atomic ADD (little-endian, the stored
  value extended with zeros or truncated to the parameter's length, carry dropped);
* ``transactional`` re-runs the function after a retryable error, as the real decorator does;
* an "unreachable" switch that makes every operation time out (1031, not retryable).

It proves our code against our reading of the API, not the bindings themselves: the real
cluster run (FDB_CLUSTER_FILE) stays the authority.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NOT_COMMITTED = 1020
TRANSACTION_TIMED_OUT = 1031
RETRYABLE = {NOT_COMMITTED}


class FDBError(Exception):
    """Same shape as ``fdb.FDBError``: an integer ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Ready:
    def __init__(self, value: Any = None) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value


class _Value:
    """Like ``fdb.Value``: ``present()`` and ``bytes(value)``."""

    def __init__(self, value: bytes | None) -> None:
        self.value = value

    def present(self) -> bool:
        return self.value is not None

    def __bytes__(self) -> bytes:
        assert self.value is not None
        return self.value


@dataclass
class KeyValue:
    key: bytes
    value: bytes


def apply_add(current: bytes | None, param: bytes) -> bytes:
    """FoundationDB's ADD mutation on ``current`` (documented in fdboptions ``add``)."""
    size = len(param)
    base = (current or b"").ljust(size, b"\x00")[:size]
    total = int.from_bytes(base, "little") + int.from_bytes(param, "little")
    return (total % 256**size).to_bytes(size, "little")


@dataclass
class Cluster:
    """The committed state shared by every database handle of one fake cluster."""

    data: dict[bytes, bytes] = field(default_factory=dict)
    version: int = 0
    # (commit version, keys written) for conflict detection.
    history: list[tuple[int, set[bytes]]] = field(default_factory=list)
    unreachable: bool = False
    commits: int = 0
    conflicts: int = 0
    # Called with the transaction just before it commits (once, then cleared): lets a test
    # slip in a concurrent commit from "another client".
    before_commit: Callable[[FakeTransaction], None] | None = None
    mutations: list[tuple[str, bytes, bytes]] = field(default_factory=list)


class FakeTransaction:
    """One transaction: snapshot at ``read_version``, buffered writes, tracked reads."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.cluster = db.cluster
        self.retries = 0
        self._begin()

    def _begin(self) -> None:
        self.read_version = self.cluster.version
        self._snapshot = dict(self.cluster.data)
        self._writes: dict[bytes, bytes | None] = {}
        self._ops: list[tuple[str, bytes, bytes]] = []
        self._reads: set[bytes] = set()
        self._read_ranges: list[tuple[bytes, bytes]] = []

    def _check_reachable(self) -> None:
        if self.cluster.unreachable:
            raise FDBError(TRANSACTION_TIMED_OUT)

    def _current(self, key: bytes) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        return self._snapshot.get(key)

    def get(self, key: bytes) -> _Value:
        self._check_reachable()
        self._reads.add(key)
        return _Value(self._current(key))

    def get_range(self, begin: bytes, end: bytes, limit: int = 0) -> list[KeyValue]:
        self._check_reachable()
        self._read_ranges.append((begin, end))
        keys = sorted(
            k
            for k in set(self._snapshot) | set(self._writes)
            if begin <= k < end and self._current(k) is not None
        )
        if limit:
            keys = keys[:limit]
        return [KeyValue(k, self._current(k) or b"") for k in keys]

    def set(self, key: bytes, value: bytes) -> None:
        self._writes[key] = value
        self._ops.append(("set", key, value))

    def clear(self, key: bytes) -> None:
        self._writes[key] = None
        self._ops.append(("clear", key, b""))

    def add(self, key: bytes, param: bytes) -> None:
        self._writes[key] = apply_add(self._current(key), param)
        self._ops.append(("add", key, param))

    def get_read_version(self) -> _Ready:
        self._check_reachable()
        return _Ready(self.read_version)

    def _conflicts(self) -> bool:
        for version, written in self.cluster.history:
            if version <= self.read_version:
                continue
            if written & self._reads:
                return True
            for key in written:
                if any(b <= key < e for b, e in self._read_ranges):
                    return True
        return False

    def commit(self) -> _Ready:
        self._check_reachable()
        hook, self.cluster.before_commit = self.cluster.before_commit, None
        if hook is not None:
            hook(self)
        if self._conflicts():
            self.cluster.conflicts += 1
            raise FDBError(NOT_COMMITTED)
        if self._ops:
            written: set[bytes] = set()
            for op, key, arg in self._ops:
                if op == "set":
                    self.cluster.data[key] = arg
                elif op == "clear":
                    self.cluster.data.pop(key, None)
                else:
                    self.cluster.data[key] = apply_add(self.cluster.data.get(key), arg)
                written.add(key)
            self.cluster.mutations.extend(self._ops)
            self.cluster.version += 1
            self.cluster.history.append((self.cluster.version, written))
        self.cluster.commits += 1
        return _Ready()

    def on_error(self, code: int) -> _Ready:
        if code not in RETRYABLE or self.retries >= self.db.retry_limit:
            raise FDBError(code)
        self.retries += 1
        self._begin()
        return _Ready()


class _DatabaseOptions:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def set_transaction_timeout(self, ms: int) -> None:
        self._db.timeout_ms = ms

    def set_transaction_retry_limit(self, limit: int) -> None:
        self._db.retry_limit = limit


class FakeDatabase:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.options = _DatabaseOptions(self)
        self.timeout_ms: int | None = None
        self.retry_limit = 100

    def create_transaction(self) -> FakeTransaction:
        return FakeTransaction(self)


class FakeBindings:
    """What ``_load_bindings`` returns: ``open``, ``transactional`` and ``FDBError``."""

    FDBError = FDBError

    def __init__(self, cluster: Cluster | None = None) -> None:
        self.cluster = cluster or Cluster()
        self.opened: list[str | None] = []

    def open(self, cluster_file: str | None = None) -> FakeDatabase:
        self.opened.append(cluster_file)
        return FakeDatabase(self.cluster)

    @staticmethod
    def transactional(func: Callable[..., Any]) -> Callable[..., Any]:
        """The bindings' retry loop: new transaction, run, commit, ``on_error``, repeat."""
        index = inspect.getfullargspec(func).args.index("tr")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if isinstance(args[index], FakeTransaction):
                return func(*args, **kwargs)
            largs = list(args)
            tr = largs[index] = args[index].create_transaction()
            while True:
                try:
                    ret = func(*largs, **kwargs)
                    tr.commit().wait()
                    return ret
                except FDBError as exc:
                    tr.on_error(exc.code).wait()

        return wrapper
