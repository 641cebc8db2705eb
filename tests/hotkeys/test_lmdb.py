"""LMDB backend specifics: files on disk, capacity, closed environments, options."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from apps.hotkeys.backends.lmdb import LMDBStore
from apps.hotkeys.base import HotKeyTransaction, StoreUnavailable
from apps.hotkeys.keys import MAX_KEY_BYTES, hot_key


def test_creates_the_directory_and_keeps_values_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "hotkeys"
    key = hot_key("agency_a", "denylist", "jti-1")
    store = LMDBStore(path, map_size=8 * 1024**2)
    store.set(key, b"revoked")
    store.close()

    reopened = LMDBStore(path, map_size=8 * 1024**2, sync=True)

    assert (path / "data.mdb").is_file()
    assert path.stat().st_mode & 0o777 == 0o700
    assert reopened.get(key) == b"revoked"
    reopened.close()


def test_real_clock_expiry(lmdb_path: Path) -> None:
    store = LMDBStore(lmdb_path, map_size=8 * 1024**2)
    key = hot_key("agency_a", "otp", "user-1")
    store.set(key, b"code", ttl=0.05)
    assert store.get(key) == b"code"

    time.sleep(0.06)

    assert store.get(key) is None
    store.close()


def test_full_map_raises_store_unavailable_and_keeps_committed_data(lmdb_path: Path) -> None:
    store = LMDBStore(lmdb_path, map_size=256 * 1024)
    first = hot_key("agency_a", "blob", 0)
    store.set(first, b"kept")

    def fill() -> None:
        for i in range(1, 1000):
            store.set(hot_key("agency_a", "blob", i), b"x" * 4000)

    with pytest.raises(StoreUnavailable, match="map_full"):
        fill()

    assert store.get(first) == b"kept"
    store.close()


def test_closed_environment_raises_store_unavailable(lmdb_path: Path) -> None:
    store = LMDBStore(lmdb_path, map_size=8 * 1024**2)
    store.close()

    for operation in (
        store.ping,
        lambda: store.get(hot_key("agency_a", "x")),
        lambda: store.set(hot_key("agency_a", "x"), b"v"),
        lambda: store.range(hot_key("agency_a", "x")),
    ):
        with pytest.raises(StoreUnavailable):
            operation()


def test_unusable_path_raises_store_unavailable(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("occupied")

    with pytest.raises(StoreUnavailable):
        LMDBStore(not_a_directory / "hotkeys")


def test_the_longest_allowed_key_fits_in_lmdb(lmdb_path: Path) -> None:
    store = LMDBStore(lmdb_path, map_size=8 * 1024**2)
    longest = hot_key("a", "n", b"k" * 503)
    assert len(longest) == MAX_KEY_BYTES

    store.set(longest, b"v")

    assert store.get(longest) == b"v"
    with pytest.raises(ValueError, match="MAX_KEY_BYTES"):
        hot_key("a", "n", b"k" * 504)
    store.close()


def _child_after_fork_mid_transaction(store: LMDBStore, path: Path, out: Any) -> None:
    outcomes = []
    for operation in (lambda: store.get(hot_key("agency_a", "x")), lambda: LMDBStore(path)):
        try:
            operation()
            outcomes.append("worked")
        except StoreUnavailable:
            outcomes.append("unavailable")
    out.put(outcomes)


def test_fork_during_a_transaction_leaves_the_parents_transaction_intact(
    lmdb_path: Path,
) -> None:
    store = LMDBStore(lmdb_path, map_size=8 * 1024**2)
    key = hot_key("agency_a", "x")
    in_transaction, may_commit = threading.Event(), threading.Event()

    def slow_write(tx: HotKeyTransaction) -> None:
        tx.set(key, b"committed after the fork")
        in_transaction.set()
        assert may_commit.wait(timeout=30)

    writer = threading.Thread(target=lambda: store.transaction(slow_write))
    writer.start()
    assert in_transaction.wait(timeout=30)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child_after_fork_mid_transaction, args=(store, lmdb_path, out))

    child.start()
    outcomes = out.get(timeout=30)
    child.join(timeout=30)
    may_commit.set()
    writer.join(timeout=30)

    # The child fails closed instead of touching (or closing) the parent's environment...
    assert outcomes == ["unavailable", "unavailable"]
    # ...and the parent's open write transaction commits normally.
    assert store.get(key) == b"committed after the fork"
    store.close()
