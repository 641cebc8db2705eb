"""FoundationDB backend specifics: the ADD layout, the retry loop, failures, lazy bindings.

These run FoundationDBStore on the in-memory fake bindings (tests/hotkeys/fake_fdb.py),
except the first test, which uses the real bindings as installed on this machine.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from apps.hotkeys.backends.fdb import FoundationDBStore
from apps.hotkeys.base import (
    HEADER_BYTES,
    HotKeyTransaction,
    StoreUnavailable,
    decode_value,
    encode_value,
    pack_counter,
)
from apps.hotkeys.keys import hot_key
from tests.hotkeys.conftest import FakeClock
from tests.hotkeys.fake_fdb import Cluster, FakeTransaction, apply_add


def test_module_imports_and_fails_closed_without_a_reachable_cluster() -> None:
    # Real bindings: without libfdb_c (this machine) loading fails; with it, the cluster
    # file does not exist. Either way the caller sees StoreUnavailable, never a hang.
    store = FoundationDBStore("/nonexistent/fdb.cluster", timeout_ms=500)

    with pytest.raises(StoreUnavailable):
        store.ping()
    with pytest.raises(StoreUnavailable):
        store.get(hot_key("agency_a", "otp", "user-1"))


def test_importing_the_backend_does_not_select_an_api_version() -> None:
    code = (
        "import fdb, apps.hotkeys.backends.fdb, apps.hotkeys.registry;"
        "print(fdb.is_api_version_selected())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_connection_is_lazy_and_bounded_by_timeout_and_retry_options(
    fake_cluster: Cluster,
) -> None:
    store = FoundationDBStore("fdb.cluster", timeout_ms=750, retry_limit=7)
    assert store._db is None

    store.ping()

    assert store._db.timeout_ms == 750
    assert store._db.retry_limit == 7


def test_live_counter_is_incremented_with_atomic_add_on_the_payload(
    fake_cluster: Cluster, clock: FakeClock
) -> None:
    store = FoundationDBStore("fdb.cluster", clock=clock)
    key = hot_key("agency_a", "ratelimit", "ip")

    store.add(key, 5, ttl=60)
    store.add(key, -7)

    expires_at_ms = int(clock.now * 1000) + 60_000
    assert fake_cluster.mutations == [
        ("set", key, encode_value(pack_counter(5), expires_at_ms)),  # created with its expiry
        ("add", key, bytes(HEADER_BYTES) + pack_counter(-7)),  # then FoundationDB's ADD
    ]
    assert decode_value(fake_cluster.data[key]) == (expires_at_ms, pack_counter(-2))


def test_add_parameter_leaves_the_expiry_header_untouched_even_on_overflow() -> None:
    header = (2**64 - 1).to_bytes(8, "big")  # all 0xff: any carry into it would show

    stored = apply_add(header + pack_counter(2**63 - 1), bytes(8) + pack_counter(1))

    assert stored == header + pack_counter(-(2**63))


def test_conflicting_commit_reruns_the_transaction_and_loses_no_increment(
    fake_cluster: Cluster,
) -> None:
    store = FoundationDBStore("fdb.cluster")
    other_client = FoundationDBStore("fdb.cluster")
    key = hot_key("agency_a", "counter", "hits")
    attempts: list[int] = []

    def concurrent_increment(_: FakeTransaction) -> None:
        other_client.add(key, 100)

    def increment(tx: HotKeyTransaction) -> int:
        attempts.append(tx.add(key, 1))
        return attempts[-1]

    fake_cluster.before_commit = concurrent_increment
    result = store.transaction(increment)

    assert attempts == [1, 101]  # first attempt saw 0, the retry saw the other commit
    assert result == 101
    assert store.get(key) == pack_counter(101)
    assert fake_cluster.conflicts == 1


def test_exhausted_retries_become_store_unavailable(fake_cluster: Cluster) -> None:
    store = FoundationDBStore("fdb.cluster", retry_limit=0)
    key = hot_key("agency_a", "counter", "hits")
    fake_cluster.before_commit = lambda tr: FoundationDBStore("fdb.cluster").add(key, 1)

    with pytest.raises(StoreUnavailable):
        store.add(key, 1)


def test_unreachable_cluster_raises_store_unavailable_for_every_operation(
    fake_cluster: Cluster,
) -> None:
    store = FoundationDBStore("fdb.cluster")
    key = hot_key("agency_a", "otp", "user-1")
    store.set(key, b"x")
    fake_cluster.unreachable = True

    for operation in (
        store.ping,
        lambda: store.get(key),
        lambda: store.set(key, b"y"),
        lambda: store.add(hot_key("agency_a", "c"), 1),
        lambda: store.compare_and_set(key, b"x", b"y"),
        lambda: store.range(hot_key("agency_a", "otp")),
        store.purge_expired,
    ):
        with pytest.raises(StoreUnavailable):
            operation()
    fake_cluster.unreachable = False
    assert store.get(key) == b"x"


def test_an_error_raised_by_fn_is_not_retried_nor_disguised(fake_cluster: Cluster) -> None:
    store = FoundationDBStore("fdb.cluster")
    calls: list[int] = []

    def refuse(tx: HotKeyTransaction) -> None:
        calls.append(1)
        raise LookupError("caller's own error")

    with pytest.raises(LookupError):
        store.transaction(refuse)
    assert calls == [1]
    assert fake_cluster.commits == 0
