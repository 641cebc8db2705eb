"""Records expire after 24 h: the periodic task purges every schema, the public one included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.idempotency.models import IdempotencyRecord
from apps.idempotency.tasks import idempotency_purge_expired

pytestmark = pytest.mark.django_db


def _record(schema: str, key: str, age: timedelta) -> None:
    with schema_context(schema):
        IdempotencyRecord.objects.create(
            scope="s",
            caller="ip:127.0.0.1",
            key=key,
            fingerprint="0" * 64,
            status_code=201,
            response_body={},
            created_at=timezone.now() - age,
        )


def _keys(schema: str) -> set[str]:
    with schema_context(schema):
        return set(IdempotencyRecord.objects.values_list("key", flat=True))


def test_purge_fans_out_over_every_schema(agency_a, agency_b):
    for schema in ("public", "agence_a", "agence_b"):
        _record(schema, "old", timedelta(hours=25))
        _record(schema, "fresh", timedelta(hours=23))

    result = idempotency_purge_expired()

    assert result["public"] == result["agence_a"] == result["agence_b"] == 1
    for schema in ("public", "agence_a", "agence_b"):
        assert _keys(schema) == {"fresh"}
    assert idempotency_purge_expired()["agence_a"] == 0  # idempotent


def test_purge_runs_periodically():
    entry = settings.CELERY_BEAT_SCHEDULE["idempotency-purge-expired"]
    assert entry["task"] == "apps.idempotency.tasks.idempotency_purge_expired"


def test_a_failing_schema_does_not_stop_the_others(agency_a, agency_b, monkeypatch, caplog):
    from django.db import connection

    from apps.idempotency import tasks

    real_purge = tasks.idempotency_records_purge

    def purge_failing_in_a() -> int:
        if connection.schema_name == "agence_a":
            raise RuntimeError("disk full")
        return real_purge()

    monkeypatch.setattr(tasks, "idempotency_records_purge", purge_failing_in_a)
    _record("agence_b", "old", timedelta(hours=25))

    result = idempotency_purge_expired()

    assert "agence_a" not in result
    assert result["agence_b"] == 1
    assert any("idempotency_purge_failed" in r.getMessage() for r in caplog.records)
