"""The LMDB store recovers without a restart: full map, full disk, files replaced (real LMDB,
real tmpfs file systems)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.core import metrics
from apps.hotkeys.backends.lmdb import LMDBStore
from apps.hotkeys.base import StoreUnavailable
from apps.hotkeys.keys import hot_key
from tests.filesystems import tmpfs


def _sample(name: str, **labels: str) -> float:
    for metric in (metrics.HOTKEYS_ERRORS, metrics.HOTKEYS_REOPENED):
        for family in metric.collect():
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
    return 0.0


def _fill(store: LMDBStore, ttl: float | None) -> StoreUnavailable:
    """Write values, smaller and smaller, until not even a small one fits."""
    failure = None
    i = 0
    for value_bytes in (3000, 300, 8):
        while i < 200_000:
            i += 1
            try:
                store.set(hot_key("agency_a", "fill", i), b"x" * value_bytes, ttl=ttl)
            except StoreUnavailable as exc:
                failure = exc
                break
    assert failure is not None, "the store never filled up"
    return failure


def test_a_full_map_is_reported_and_purging_frees_it_without_a_restart(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "hk", map_size=512 * 1024)
    before = _sample("guichet_hotkeys_errors_total", reason="map_full")

    full = _fill(store, ttl=0.5)

    assert full.reason == "map_full"
    assert _sample("guichet_hotkeys_errors_total", reason="map_full") > before
    with pytest.raises(StoreUnavailable):
        store.add(hot_key("agency_a", "lockout", "x"), 1)
    time.sleep(0.6)
    # One transaction deleting every expired value does not fit in a full map: the purge
    # shrinks its pages until they do.
    assert store.purge_expired(batch=1000) > 0
    assert store.add(hot_key("agency_a", "lockout", "x"), 1) == 1
    store.close()


def test_a_full_disk_is_reported_and_writes_resume_once_space_is_freed(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", size="256k") as disk:
        store = LMDBStore(disk.path / "hk", map_size=16 * 1024**2)

        full = _fill(store, ttl=None)

        assert full.reason == "disk_full"
        disk.resize("4m")
        store.set(hot_key("agency_a", "after"), b"v")
        assert store.get(hot_key("agency_a", "after")) == b"v"
        store.close()


def test_the_store_reopens_after_its_volume_is_replaced_and_fixed(tmp_path: Path) -> None:
    path = tmp_path / "volume"
    with tmpfs(path, size="1m"):
        store = LMDBStore(path / "hk", map_size=4 * 1024**2)
        store.set(hot_key("agency_a", "old"), b"v")
        reopened = _sample("guichet_hotkeys_reopened_total")
        # A new, still read-only volume is mounted over the path (a disk swapped).
        with tmpfs(path, size="1m") as replacement:
            replacement.read_only()

            with pytest.raises(StoreUnavailable) as broken:
                store.ping()
            assert broken.value.reason == "read_only"
            with pytest.raises(StoreUnavailable):
                store.set(hot_key("agency_a", "new"), b"v")

            replacement.writable()  # the disk is fixed
            time.sleep(1.1)  # reopening is tried at most once a second
            store.ping()
            store.set(hot_key("agency_a", "new"), b"v")

            assert store.get(hot_key("agency_a", "new")) == b"v"
            assert (path / "hk" / "data.mdb").exists()
            assert _sample("guichet_hotkeys_reopened_total") == reopened + 1
            store.close()


def test_a_store_closed_on_purpose_stays_closed(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "hk", map_size=1024**2)
    store.close()
    time.sleep(1.1)

    with pytest.raises(StoreUnavailable):
        store.get(hot_key("agency_a", "x"))
