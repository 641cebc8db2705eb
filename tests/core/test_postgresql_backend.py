"""The database backend loads timestamps with psycopg's C loader, as correct as Django's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from apps.core.postgresql.base import HAS_C_LOADER, TIMESTAMPTZ_OID, UTCTimestamptzLoader
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_connections_load_timestamptz_with_the_c_loader():
    if not HAS_C_LOADER:
        pytest.skip("psycopg's C implementation is not installed: Django's loader is kept")
    connection.ensure_connection()
    adapters = connection.connection.adapters

    registered = adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)

    assert registered is UTCTimestamptzLoader
    assert type(registered(TIMESTAMPTZ_OID, connection.connection)).__module__.startswith(
        ("psycopg_c", "psycopg_binary")
    )


def test_loaded_timestamps_are_the_same_instants_in_utc():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT '2026-01-01 10:00:00.123456+02'::timestamptz, "
            "'2026-07-01 00:00:00-05:30'::timestamptz, NULL::timestamptz"
        )
        east, west, missing = cursor.fetchone()

    assert east == datetime(2026, 1, 1, 8, 0, 0, 123456, tzinfo=UTC)
    assert east.utcoffset() == timedelta(0)
    assert west == datetime(2026, 7, 1, 5, 30, tzinfo=UTC)
    assert missing is None


def test_a_model_datetime_round_trips_exactly():
    moment = timezone.now().replace(microsecond=654321)
    user = UserFactory()
    type(user).objects.filter(pk=user.pk).update(last_login=moment)

    loaded = type(user).objects.values_list("last_login", flat=True).get(pk=user.pk)

    assert loaded == moment
    assert timezone.is_aware(loaded)
    assert loaded.utcoffset() == timedelta(0)
