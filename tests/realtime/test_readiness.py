"""/readyz covers the gateway's channel layer (embedded NOTIFY layer and channels-redis)."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_readyz_checks_the_embedded_channel_layer(api):
    response = api().get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json()["checks"]["channel_layer"] == "ok"


def test_readyz_names_the_channel_layer_when_redis_is_down(api, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }

    body = assert_problem(api().get("/readyz"), 503, "not_ready")

    assert body["checks"]["channel_layer"] == "unavailable"
    assert body["checks"]["database"] == "ok"


def test_readyz_passes_on_a_live_redis_channel_layer(api, settings):
    import os

    url = os.environ.get("REDIS_URL", "")
    if not url.startswith("redis://"):
        pytest.skip("REDIS_URL is not a Redis server: the channels-redis check needs one")
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }

    response = api().get("/readyz")

    assert response.json()["checks"]["channel_layer"] == "ok"
