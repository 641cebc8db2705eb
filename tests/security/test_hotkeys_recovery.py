"""The hot-key store full or on a read-only volume: /readyz and the metrics say so, sign-in
fails closed with a 503 naming the part, and everything works again once space is freed or the
volume is writable, without a restart (real LMDB, real tmpfs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from apps.hotkeys.base import StoreUnavailable
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store
from apps.hotkeys.tasks import hotkeys_purge_expired
from tests.conftest import PUBLIC_HOST
from tests.factories import PASSWORD
from tests.filesystems import tmpfs
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


def _lmdb(path: Path, map_size: int) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
            "OPTIONS": {"path": str(path), "map_size": map_size},
        }
    }


def _fill_with_expiring_values() -> None:
    store = get_store()
    i = 0
    for size in (3000, 300, 8):
        while True:
            i += 1
            try:
                store.set(hot_key("agence_a", "filler", i), b"x" * size, ttl=1.0)
            except StoreUnavailable:
                break


def test_a_full_map_is_reported_and_sign_in_recovers_once_space_is_freed(api, citizen, tmp_path):
    token = "metrics-token-for-tests-0123456789"
    with override_settings(HOTKEYS=_lmdb(tmp_path / "hk", 512 * 1024), METRICS_TOKEN=token):
        _fill_with_expiring_values()

        ready = api(PUBLIC_HOST).get("/readyz")
        metrics = (
            api(PUBLIC_HOST).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
        )
        refused = api(PUBLIC_HOST).post(TOKEN, {"login": citizen.email, "password": PASSWORD})

        assert assert_problem(ready, 503, "not_ready")["checks"]["hotkeys"] == "full"
        assert 'guichet_hotkeys_errors_total{reason="map_full"}' in metrics
        assert 'guichet_dependency_ready{part="hotkeys"} 0.0' in metrics
        body = assert_problem(refused, 503, "service_unavailable")
        assert body["part"] == "hotkeys"
        assert refused["Retry-After"] == "5"

        time.sleep(1.1)  # the filler expires; the periodic purge frees its space
        assert hotkeys_purge_expired() > 0

        signed_in = api(PUBLIC_HOST).post(TOKEN, {"login": citizen.email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.content
        assert api(PUBLIC_HOST).get("/readyz").status_code == 200


def test_a_read_only_volume_is_reported_and_the_store_opens_once_it_is_fixed(
    api, citizen, tmp_path
):
    with tmpfs(tmp_path / "volume", size="4m") as volume:
        volume.read_only()
        with override_settings(HOTKEYS=_lmdb(volume.path / "hk", 1024**2)):
            ready = api(PUBLIC_HOST).get("/readyz")
            refused = api(PUBLIC_HOST).post(TOKEN, {"login": citizen.email, "password": PASSWORD})

            volume.writable()  # the disk is fixed; no process is restarted
            signed_in = api(PUBLIC_HOST).post(TOKEN, {"login": citizen.email, "password": PASSWORD})
            ready_again = api(PUBLIC_HOST).get("/readyz")

    assert assert_problem(ready, 503, "not_ready")["checks"]["hotkeys"] == "read_only"
    assert assert_problem(refused, 503, "service_unavailable")["part"] == "hotkeys"
    assert signed_in.status_code == 200, signed_in.content
    assert ready_again.status_code == 200
