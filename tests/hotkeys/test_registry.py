"""The registry: built lazily from settings.HOTKEYS, one store per process, resettable."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from apps.hotkeys.backends.fdb import FoundationDBStore
from apps.hotkeys.backends.lmdb import LMDBStore
from apps.hotkeys.base import HotKeyStore, StoreUnavailable
from apps.hotkeys.keys import hot_key, hot_prefix
from apps.hotkeys.registry import get_store, reset_stores


def lmdb_config(path: Path) -> dict[str, Any]:
    return {
        "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
        "OPTIONS": {"path": str(path), "map_size": 8 * 1024**2},
    }


def test_store_is_built_on_first_use_then_cached(tmp_path: Path) -> None:
    path = tmp_path / "hk"
    with override_settings(HOTKEYS={"default": lmdb_config(path)}):
        assert not path.exists()  # configuring is not opening

        store = get_store()

        assert isinstance(store, LMDBStore)
        assert store.path == path
        assert get_store("default") is store


def test_reset_closes_and_forgets_the_stores(tmp_path: Path) -> None:
    with override_settings(HOTKEYS={"default": lmdb_config(tmp_path / "hk")}):
        first = get_store()

        reset_stores()

        assert get_store() is not first
        with pytest.raises(StoreUnavailable):
            first.ping()


def test_changing_the_setting_drops_cached_stores(tmp_path: Path) -> None:
    with override_settings(HOTKEYS={"default": lmdb_config(tmp_path / "one")}):
        first = get_store()
    with override_settings(HOTKEYS={"default": lmdb_config(tmp_path / "two")}):
        second = get_store()

    assert isinstance(second, LMDBStore)
    assert second.path == tmp_path / "two"
    assert second is not first


def test_unknown_alias_and_bad_backend_are_configuration_errors(tmp_path: Path) -> None:
    hotkeys = {
        "default": lmdb_config(tmp_path / "hk"),
        "wrong": {"BACKEND": "apps.hotkeys.registry.get_store"},
        "missing": {"OPTIONS": {}},
    }
    with override_settings(HOTKEYS=hotkeys):
        for alias in ("nope", "wrong", "missing"):
            with pytest.raises(ImproperlyConfigured):
                get_store(alias)


def test_a_failed_build_is_not_cached(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the directory should go")
    with override_settings(HOTKEYS={"default": lmdb_config(blocker / "hk")}):
        with pytest.raises(StoreUnavailable):
            get_store()
        blocker.unlink()

        assert get_store().ping() is None


def test_foundationdb_store_is_built_without_connecting(tmp_path: Path) -> None:
    config = {
        "BACKEND": "apps.hotkeys.backends.fdb.FoundationDBStore",
        "OPTIONS": {"cluster_file": str(tmp_path / "fdb.cluster")},
    }
    with override_settings(HOTKEYS={"default": config}):
        store = get_store()

    assert isinstance(store, FoundationDBStore)
    assert store._db is None


def _child_uses_its_own_store(parent_store: HotKeyStore, key: bytes, out: Any) -> None:
    try:
        parent_store.get(key)
        inherited_store_refused = False
    except StoreUnavailable:
        inherited_store_refused = True
    store = get_store()
    out.put((store is not parent_store, inherited_store_refused, store.get(key)))
    store.set(key, b"written by the child")


def test_a_forked_child_opens_its_own_store_and_leaves_the_parents_alone(
    tmp_path: Path,
) -> None:
    key = hot_key("agency_a", "ns", "k")
    with override_settings(HOTKEYS={"default": lmdb_config(tmp_path / "hk")}):
        parent_store = get_store()
        parent_store.set(key, b"written by the parent")
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        reader = parent_store.range(hot_prefix("agency_a"))  # the parent keeps working
        child = ctx.Process(target=_child_uses_its_own_store, args=(parent_store, key, out))

        child.start()
        result = out.get(timeout=30)
        child.join(timeout=30)

        assert result == (True, True, b"written by the parent")
        assert child.exitcode == 0
        assert get_store() is parent_store
        assert parent_store.get(key) == b"written by the child"
        assert reader == [(key, b"written by the parent")]
