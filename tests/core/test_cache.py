"""Django's cache: on Redis when REDIS_URL is set (shared by every process), keys per agency."""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from config.settings.base import cache_settings


def _cache(settings: dict) -> RedisCache | LocMemCache:
    params = dict(settings)
    backend = import_string(params.pop("BACKEND"))
    return backend(params.pop("LOCATION", ""), params)


def test_without_redis_the_cache_is_per_process_memory():
    settings = cache_settings("")
    assert settings["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings["KEY_FUNCTION"] == "django_tenants.cache.make_key"


@pytest.mark.django_db
def test_on_redis_two_processes_share_values_and_agencies_do_not():
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("REDIS_URL is not set: no Redis to test the shared cache against")
    settings = cache_settings(url)
    assert settings["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    web, worker = _cache(settings), _cache(settings)  # two processes' cache objects
    key = f"test:{uuid.uuid4().hex}"
    try:
        with schema_context("agence_a"):
            web.set(key, "value of A", 30)
            assert worker.get(key) == "value of A"
        with schema_context("agence_b"):
            assert worker.get(key) is None  # same key, other agency: another entry
            worker.set(key, "value of B", 30)
        with schema_context("agence_a"):
            assert web.get(key) == "value of A"
    finally:
        for schema in ("agence_a", "agence_b"):
            with schema_context(schema):
                web.delete(key)
