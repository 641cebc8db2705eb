"""The contract every hot-key backend honours, run against each backend it can reach.

``lmdb`` always runs; ``fdb-fake`` runs FoundationDBStore on in-memory fake bindings; ``fdb``
runs against a real cluster when FDB_CLUSTER_FILE points at one and is skipped (with the
reason printed) otherwise. TTLs use the injectable clock, so nothing sleeps.
"""

from __future__ import annotations

import multiprocessing
import uuid

import pytest

from apps.hotkeys.base import (
    HEADER_BYTES,
    INT64_MAX,
    INT64_MIN,
    MAX_VALUE_BYTES,
    HotKeyStore,
    HotKeyTransaction,
    NotACounter,
    decode_value,
    pack_counter,
    unpack_counter,
)
from apps.hotkeys.keys import hot_key, hot_prefix
from tests.hotkeys.conftest import FakeClock, Tenants
from tests.hotkeys.workers import StoreSpec, atomic_adds, cas_increments, paired_transactions

# --- get / set / delete ------------------------------------------------------------------


def test_get_returns_what_set_stored(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "otp", "user-1")

    store.set(key, b"\x00digest\xff")

    assert store.get(key) == b"\x00digest\xff"


def test_get_of_a_missing_key_is_none(store: HotKeyStore, tenants: Tenants) -> None:
    assert store.get(hot_key(tenants.a, "otp", "nobody")) is None


def test_set_overwrites_and_empty_value_is_not_absent(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "flags", "x")
    store.set(key, b"first")

    store.set(key, b"")

    assert store.get(key) == b""


def test_delete_removes_and_tolerates_absent_keys(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "otp", "user-1")
    store.set(key, b"x")

    store.delete(key)
    store.delete(key)

    assert store.get(key) is None


def test_invalid_arguments_are_rejected(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "ns", "k")
    with pytest.raises(TypeError):
        store.get("not-bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        store.set(key, b"v", ttl=0)
    with pytest.raises(ValueError, match="MAX_VALUE_BYTES"):
        store.set(key, b"x" * (MAX_VALUE_BYTES + 1))
    with pytest.raises(ValueError, match="MAX_KEY_BYTES"):
        store.set(b"\x02" + b"k" * 600, b"v")
    with pytest.raises(ValueError, match="prefix"):
        store.range(b"")
    assert store.get(key) is None


# --- TTL ---------------------------------------------------------------------------------


def test_value_expires_exactly_at_its_ttl(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    key = hot_key(tenants.a, "otp", "user-1")
    store.set(key, b"code-digest", ttl=30)

    clock.advance(29.999)
    assert store.get(key) == b"code-digest"
    clock.advance(0.001)
    assert store.get(key) is None


def test_set_without_ttl_never_expires_and_replaces_an_old_ttl(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    key = hot_key(tenants.a, "denylist", "jti-1")
    store.set(key, b"short", ttl=1)

    store.set(key, b"forever")
    clock.advance(10 * 365 * 86400)

    assert store.get(key) == b"forever"


def test_expired_values_are_invisible_to_range(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    store.set(hot_key(tenants.a, "otp", 1), b"short", ttl=5)
    store.set(hot_key(tenants.a, "otp", 2), b"long", ttl=50)

    clock.advance(5)

    assert store.range(hot_prefix(tenants.a, "otp")) == [(hot_key(tenants.a, "otp", 2), b"long")]


def test_the_stored_header_carries_the_expiry(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    key = hot_key(tenants.a, "otp", "user-1")

    store.set(key, b"payload", ttl=2.5)

    [[(stored_key, raw)]] = list(store.iter_raw(hot_prefix(tenants.a, "otp")))
    assert stored_key == key
    assert decode_value(raw) == (int(clock.now * 1000) + 2500, b"payload")
    assert len(raw) == HEADER_BYTES + len(b"payload")


# --- counters ------------------------------------------------------------------------------


def test_add_starts_from_zero_and_returns_each_new_value(
    store: HotKeyStore, tenants: Tenants
) -> None:
    key = hot_key(tenants.a, "ratelimit", "ip", "10.0.0.1")

    results = [store.add(key, 1), store.add(key, 1), store.add(key, 5), store.add(key, -10)]

    assert results == [1, 2, 7, -3]
    assert store.get(key) == pack_counter(-3)
    assert unpack_counter(store.get(key) or b"") == -3


def test_add_ttl_applies_when_the_counter_is_created_not_on_every_add(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    key = hot_key(tenants.a, "ratelimit", "login", "user-1")
    store.add(key, 1, ttl=60)
    clock.advance(50)

    assert store.add(key, 1, ttl=60) == 2  # same window: expiry not pushed back
    clock.advance(10)
    assert store.get(key) is None
    assert store.add(key, 1, ttl=60) == 1  # expired: a new window starts from zero
    clock.advance(59)
    assert store.add(key, 1) == 2


def test_add_wraps_around_like_int64(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "counter", "wrap")
    store.add(key, INT64_MAX)

    assert store.add(key, 1) == INT64_MIN
    assert store.add(key, -1) == INT64_MAX


def test_add_refuses_a_value_that_is_not_a_counter(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "otp", "user-1")
    store.set(key, b"not a counter")

    with pytest.raises(NotACounter):
        store.add(key, 1)
    assert store.get(key) == b"not a counter"


# --- compare-and-set ---------------------------------------------------------------------


def test_cas_with_expected_none_creates_only_if_absent(
    store: HotKeyStore, tenants: Tenants
) -> None:
    key = hot_key(tenants.a, "idempotency", "req-1")

    assert store.compare_and_set(key, None, b"first") is True
    assert store.compare_and_set(key, None, b"second") is False
    assert store.get(key) == b"first"


def test_cas_swaps_only_on_the_expected_value(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "otp", "user-1")
    store.set(key, b"v1")

    assert store.compare_and_set(key, b"stale", b"v2") is False
    assert store.get(key) == b"v1"
    assert store.compare_and_set(key, b"v1", b"v2") is True
    assert store.get(key) == b"v2"


def test_cas_to_none_deletes(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "otp", "user-1")
    store.set(key, b"code")

    assert store.compare_and_set(key, b"code", None) is True
    assert store.get(key) is None
    assert store.compare_and_set(key, b"code", None) is False


def test_cas_treats_an_expired_value_as_absent(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    key = hot_key(tenants.a, "lock", "job-1")
    store.set(key, b"owner-1", ttl=10)
    clock.advance(10)

    assert store.compare_and_set(key, b"owner-1", b"late") is False
    assert store.compare_and_set(key, None, b"owner-2", ttl=10) is True
    assert store.get(key) == b"owner-2"
    clock.advance(10)
    assert store.get(key) is None


# --- range -------------------------------------------------------------------------------


def test_range_returns_keys_in_order_and_honours_limit(
    store: HotKeyStore, tenants: Tenants
) -> None:
    for part in (10, 2, 1000, -5, 33):
        store.set(hot_key(tenants.a, "seq", part), str(part).encode())

    everything = store.range(hot_prefix(tenants.a, "seq"))
    first_two = store.range(hot_prefix(tenants.a, "seq"), limit=2)

    assert [value for _, value in everything] == [b"-5", b"2", b"10", b"33", b"1000"]
    assert first_two == everything[:2]
    assert store.range(hot_prefix(tenants.a, "seq"), limit=0) == []


def test_range_limit_counts_only_live_entries(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    for part in range(5):
        store.set(hot_key(tenants.a, "seq", part), b"old", ttl=1)
    for part in range(5, 8):
        store.set(hot_key(tenants.a, "seq", part), b"new")
    clock.advance(1)

    assert store.range(hot_prefix(tenants.a, "seq"), limit=2) == [
        (hot_key(tenants.a, "seq", 5), b"new"),
        (hot_key(tenants.a, "seq", 6), b"new"),
    ]


def test_prefix_does_not_leak_into_sibling_prefixes(store: HotKeyStore, tenants: Tenants) -> None:
    store.set(hot_key(tenants.a, "x", "k"), b"x")
    store.set(hot_key(tenants.a, "xy", "k"), b"xy")
    store.set(hot_key(tenants.a, "x"), b"bare")
    store.set(hot_key(tenants.a, "x", "kk"), b"kk")

    in_x = store.range(hot_prefix(tenants.a, "x"))
    in_x_k = store.range(hot_prefix(tenants.a, "x", "k"))

    assert [value for _, value in in_x] == [b"bare", b"x", b"kk"]
    assert in_x_k == [(hot_key(tenants.a, "x", "k"), b"x")]


# --- tenant isolation ----------------------------------------------------------------------


def test_one_tenant_never_sees_another_tenants_keys(store: HotKeyStore, tenants: Tenants) -> None:
    store.set(hot_key(tenants.a, "otp", "user-1"), b"a-secret")
    store.add(hot_key(tenants.a, "ratelimit", "login"), 3)
    sibling_schema = tenants.a + "x"  # a schema whose name extends agency A's
    store.set(hot_key(sibling_schema, "otp", "user-1"), b"sibling")

    assert store.get(hot_key(tenants.b, "otp", "user-1")) is None
    assert store.range(hot_prefix(tenants.b)) == []
    assert store.add(hot_key(tenants.b, "ratelimit", "login"), 1) == 1
    assert [key for key, _ in store.range(hot_prefix(tenants.a))] == [
        hot_key(tenants.a, "otp", "user-1"),
        hot_key(tenants.a, "ratelimit", "login"),
    ]
    store.delete(hot_key(sibling_schema, "otp", "user-1"))


# --- transactions --------------------------------------------------------------------------


def test_transaction_commits_all_writes_and_returns_fn_result(
    store: HotKeyStore, tenants: Tenants
) -> None:
    key_a = hot_key(tenants.a, "t", "a")
    key_b = hot_key(tenants.a, "t", "b")

    def move(tx: HotKeyTransaction) -> int:
        tx.set(key_a, b"1")
        tx.set(key_b, b"2")
        assert tx.get(key_a) == b"1"  # reads its own writes
        return tx.add(hot_key(tenants.a, "t", "n"), 3) + tx.add(hot_key(tenants.a, "t", "n"), 1)

    assert store.transaction(move) == 7
    assert store.get(key_a) == b"1"
    assert store.get(key_b) == b"2"


def test_transaction_that_raises_writes_nothing(store: HotKeyStore, tenants: Tenants) -> None:
    key = hot_key(tenants.a, "t", "a")
    store.set(key, b"before")

    def half_done(tx: HotKeyTransaction) -> None:
        tx.set(key, b"after")
        tx.add(hot_key(tenants.a, "t", "n"), 1)
        raise RuntimeError("business rule says no")

    with pytest.raises(RuntimeError, match="business rule"):
        store.transaction(half_done)
    assert store.get(key) == b"before"
    assert store.get(hot_key(tenants.a, "t", "n")) is None


def test_using_the_store_inside_its_transaction_is_refused(
    store: HotKeyStore, tenants: Tenants
) -> None:
    key = hot_key(tenants.a, "t", "a")

    with pytest.raises(RuntimeError, match="use the tx argument"):
        store.transaction(lambda tx: store.get(key))
    with pytest.raises(RuntimeError, match="use the tx argument"):
        store.transaction(lambda tx: store.set(key, b"x"))
    store.set(key, b"store usable afterwards")
    assert store.get(key) == b"store usable afterwards"


# --- purge and raw copy --------------------------------------------------------------------


def test_purge_deletes_only_expired_values_across_batches(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    for i in range(7):
        store.set(hot_key(tenants.a, "otp", i), b"gone", ttl=1)
        store.set(hot_key(tenants.b, "otp", i), b"kept", ttl=100)
    store.set(hot_key(tenants.a, "denylist", "jti"), b"kept")
    clock.advance(1)

    deleted = store.purge_expired(batch=3)

    assert deleted >= 7  # a shared real cluster may hold other expired values
    remaining = [key for page in store.iter_raw(hot_prefix(tenants.a)) for key, _ in page]
    assert remaining == [hot_key(tenants.a, "denylist", "jti")]
    assert len(store.range(hot_prefix(tenants.b))) == 7
    assert store.purge_expired(batch=3) == 0 or store.backend_name == "foundationdb"


def test_put_raw_round_trips_iter_raw_with_headers(
    store: HotKeyStore, tenants: Tenants, clock: FakeClock
) -> None:
    store.set(hot_key(tenants.a, "otp", 1), b"one", ttl=40)
    store.add(hot_key(tenants.a, "rl", 1), 9)
    pages = list(store.iter_raw(hot_prefix(tenants.a), batch=1))
    items = [pair for page in pages for pair in page]
    for key, _ in items:
        store.delete(key)

    assert store.put_raw(items) == 2

    assert len(pages) == 2
    assert [pair for page in store.iter_raw(hot_prefix(tenants.a)) for pair in page] == items
    clock.advance(40)
    assert store.get(hot_key(tenants.a, "otp", 1)) is None


# --- several processes ---------------------------------------------------------------------


def _run_children(target: object, args_for: list[tuple[object, ...]]) -> list[tuple[int, int]]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    children = [ctx.Process(target=target, args=(*args, start, out)) for args in args_for]  # type: ignore[arg-type]
    for child in children:
        child.start()
    start.set()
    results = [out.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    return results


@pytest.mark.slow
def test_concurrent_atomic_adds_from_eight_processes_lose_nothing(
    process_store_spec: StoreSpec,
) -> None:
    key = hot_key("agency_a", "counter", uuid.uuid4().hex)

    results = _run_children(atomic_adds, [(process_store_spec, key, 1000)] * 8)

    store = process_store_spec.open()
    assert unpack_counter(store.get(key) or b"") == 8000
    assert max(highest for _, highest in results) == 8000
    store.delete(key)
    store.close()


@pytest.mark.slow
def test_cas_increments_under_contention_lose_no_update(process_store_spec: StoreSpec) -> None:
    key = hot_key("agency_a", "counter", uuid.uuid4().hex)

    # 4 x 1,000 is enough for the children to interleave on two cores: a compare and a set
    # in separate transactions loses hundreds of updates at this size.
    _run_children(cas_increments, [(process_store_spec, key, 1000)] * 4)

    store = process_store_spec.open()
    assert unpack_counter(store.get(key) or b"") == 4000
    store.delete(key)
    store.close()


@pytest.mark.slow
def test_transactions_from_several_processes_are_atomic(process_store_spec: StoreSpec) -> None:
    run = uuid.uuid4().hex
    key_a, key_b = hot_key("agency_a", "pair", run, "a"), hot_key("agency_a", "pair", run, "b")

    prefix = hot_prefix("agency_a", "pair", run)

    results = _run_children(
        paired_transactions, [(process_store_spec, key_a, key_b, prefix, 500)] * 4
    )

    store = process_store_spec.open()
    assert store.get(key_a) == store.get(key_b) == pack_counter(2000)
    assert sum(torn for _, torn in results) == 0
    store.delete(key_a)
    store.delete(key_b)
    store.close()
