"""Fixtures for the hot-key store: one ``store`` per backend, a controllable clock.

None of these touch the Django database. The suite also runs without pytest-django
(``pytest tests/hotkeys -p no:django --confcutdir=tests/hotkeys``): Django is then configured
with the minimum the registry and the management commands need.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
import pytest
from django.apps import apps
from django.conf import settings

from apps.hotkeys.backends import fdb as fdb_backend
from apps.hotkeys.backends.fdb import FoundationDBStore
from apps.hotkeys.backends.lmdb import LMDBStore
from apps.hotkeys.base import HotKeyStore, StoreUnavailable
from apps.hotkeys.keys import hot_prefix
from apps.hotkeys.registry import reset_stores
from tests.hotkeys.fake_fdb import Cluster, FakeBindings
from tests.hotkeys.workers import StoreSpec

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["apps.hotkeys"],
        HOTKEYS={},
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
if not apps.ready:
    django.setup()


class FakeClock:
    """A clock the test moves by hand: TTLs are checked without sleeping."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Tenants:
    """Schema names for a test. Unique per test on a real cluster (shared, persistent)."""

    a: str
    b: str


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _reachable_fdb_cluster_file() -> str:
    """The cluster file of a reachable cluster, or ``pytest.skip`` with the reason."""
    cluster_file = os.environ.get("FDB_CLUSTER_FILE", "")
    if not cluster_file:
        pytest.skip("FoundationDB not reachable: FDB_CLUSTER_FILE unset")
    if not Path(cluster_file).is_file():
        pytest.skip(f"FoundationDB not reachable: cluster file {cluster_file} does not exist")
    try:
        FoundationDBStore(cluster_file, timeout_ms=3000).ping()
    except StoreUnavailable as exc:
        pytest.skip(f"FoundationDB not reachable: {exc} (cluster file {cluster_file})")
    return cluster_file


def _clear_schemas(store: HotKeyStore, tenants: Tenants) -> None:
    for schema in (tenants.a, tenants.b):
        for page in store.iter_raw(hot_prefix(schema)):
            keys = [key for key, _ in page]

            def clear(tx: Any, keys: list[bytes] = keys) -> None:
                for key in keys:
                    tx.delete(key)

            store.transaction(clear)


@pytest.fixture(params=["lmdb", "fdb-fake", "fdb"])
def backend(request: pytest.FixtureRequest) -> str:
    """Backend under test. ``fdb-fake`` runs FoundationDBStore on in-memory fake bindings."""
    return str(request.param)


@pytest.fixture
def fake_cluster(monkeypatch: pytest.MonkeyPatch) -> Cluster:
    """Route FoundationDBStore to fake bindings; the returned cluster is their state."""
    bindings = FakeBindings()
    monkeypatch.setattr(fdb_backend, "_load_bindings", lambda api_version: bindings)
    return bindings.cluster


@pytest.fixture
def tenants(backend: str) -> Tenants:
    if backend == "fdb":
        run = uuid.uuid4().hex[:8]
        return Tenants(a=f"agency_a_{run}", b=f"agency_b_{run}")
    return Tenants(a="agency_a", b="agency_b")


@pytest.fixture
def store(
    request: pytest.FixtureRequest,
    backend: str,
    tenants: Tenants,
    tmp_path: Path,
    clock: FakeClock,
) -> Iterator[HotKeyStore]:
    """A fresh, empty store of the parametrised backend, on the fake clock."""
    built: HotKeyStore
    if backend == "lmdb":
        built = LMDBStore(tmp_path / "hotkeys", map_size=64 * 1024**2, clock=clock)
    elif backend == "fdb-fake":
        request.getfixturevalue("fake_cluster")
        built = FoundationDBStore("fake.cluster", clock=clock)
    else:
        built = FoundationDBStore(_reachable_fdb_cluster_file(), clock=clock)
    yield built
    if backend == "fdb":
        _clear_schemas(built, tenants)
    built.close()


@pytest.fixture(params=["lmdb", "fdb"])
def process_store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSpec:
    """How child processes open a store shared with the test (real backends only)."""
    if request.param == "lmdb":
        return StoreSpec(
            "apps.hotkeys.backends.lmdb.LMDBStore",
            {"path": str(tmp_path / "shared"), "map_size": 64 * 1024**2},
        )
    return StoreSpec(
        "apps.hotkeys.backends.fdb.FoundationDBStore",
        {"cluster_file": _reachable_fdb_cluster_file()},
    )


@pytest.fixture
def lmdb_path(tmp_path: Path) -> Path:
    return tmp_path / "hotkeys"


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    """No store built by one test is seen by the next."""
    reset_stores()
    yield
    reset_stores()
