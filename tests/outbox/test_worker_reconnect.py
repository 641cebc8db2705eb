"""A real worker and beat outlive a broker outage, and the held-back messages are delivered
within seconds of the broker's return (not after the lease, not at the next periodic relay).

The broker is a redis-server of the test's own on a free loopback port, killed (its queues are
lost, as in a crash) and started again; the worker and beat are real ``celery`` processes on
the test database. Messages of three kinds are held back: published to the broker and lost
with it (leased rows), never published because the broker was down (due rows), and queued by
citizens during the outage.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from apps.agencies.services import agency_create
from apps.outbox.models import Status
from chaos.stack import BASE_DIR, Process, RedisServer, celery_worker, wait_until
from config.celery import app
from tests.factories import UserFactory
from tests.helpers import running_database_url
from tests.outbox.builders import simple_service
from tests.outbox.test_broker_outage import _cleanup, _reset_broker_pools, _rows, _submit

PER_BATCH = 3
RECOVERY_BUDGET_SECONDS = 10.0


def process_env(broker_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a worker or beat process on the test database and ``broker_url``."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=running_database_url(),
        CELERY_BROKER_URL=broker_url,
        GUICHET_VAR_DIR=str(var_dir),
        LOG_LEVEL="INFO",
        LOG_FORMAT="console",
        PYTHONPATH=str(BASE_DIR),
        **extra,
    )
    env.pop("CELERY_RESULT_BACKEND", None)
    return env


def worker_ready(worker: Process) -> bool:
    """The worker has connected and is consuming (or died: the caller checks ``alive``)."""
    return not worker.alive or "ready." in worker.log.read_text(errors="replace")


def sms_ids(var_dir: Path) -> Counter[str]:
    """How many times each message id reached the SMS file backend."""
    path = var_dir / "test-sms" / "sms.jsonl"
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["id"] for line in path.read_text().splitlines())


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
@pytest.mark.broker
@pytest.mark.slow
def test_worker_and_beat_reconnect_and_relay_held_back_messages_within_seconds(
    django_db_setup, django_db_blocker, settings, tmp_path
):
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    var_dir = tmp_path / "var"
    real_setting, real_conf = settings.CELERY_BROKER_URL, app.conf.broker_url
    settings.CELERY_BROKER_URL = redis.url
    app.conf.broker_url = redis.url
    _reset_broker_pools()
    env = process_env(redis.url, var_dir)
    worker = celery_worker(env=env, log=tmp_path / "worker.log", queue="guichet-test")
    beat = Process(
        name="beat",
        command=[
            str(Path(worker.command[0])),
            "-A",
            "config",
            "beat",
            "-s",
            str(tmp_path / "beat-schedule"),
            "-l",
            "info",
        ],
        env=env,
        log=tmp_path / "beat.log",
    )
    slug = f"reprise-{uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock():
        agency = agency_create(
            slug=slug, name_fr="Agence reprise", name_en="Recovery agency", domain=f"{slug}.local"
        )
        schema = agency.schema_name
        citizens = [
            UserFactory(email=f"reprise-{uuid.uuid4().hex}@example.tg", phone=f"+2289400{n:04d}")
            for n in range(PER_BATCH * 3)
        ]
        try:
            simple_service(schema)
            worker.start()
            beat.start()
            assert wait_until(lambda: worker_ready(worker), 90), worker.log.read_text()
            assert worker.alive, worker.log.read_text()

            # Batch A, broker up: delivered at once.
            for citizen in citizens[:PER_BATCH]:
                _submit(schema, citizen)
            assert wait_until(lambda: all(r.status == Status.SENT for r in _rows(schema)), 30), [
                (r.status, r.last_error) for r in _rows(schema)
            ]

            # Batch B: published (leased) while no worker consumes; the broker then dies with
            # them. Batch C: queued while the broker is down (never published).
            worker.kill()
            for citizen in citizens[PER_BATCH : PER_BATCH * 2]:
                _submit(schema, citizen)
            leased = [r for r in _rows(schema) if r.status == Status.PENDING]
            assert len(leased) == PER_BATCH * 2
            assert all(r.lease_until is not None for r in leased)
            redis.stop()
            outage_started = time.monotonic()
            waits = [_submit(schema, citizen) for citizen in citizens[PER_BATCH * 2 :]]
            assert max(waits) < 2.0, waits
            worker.start()  # starts while the broker is away: it must wait, not exit

            # /readyz names the broker meanwhile.
            answer = Client().get("/readyz", HTTP_HOST="localhost")
            assert answer.status_code == 503
            assert answer.json()["checks"]["broker"] == "unavailable"

            time.sleep(max(0.0, 20 - (time.monotonic() - outage_started)))
            assert worker.alive, worker.log.read_text()[-3000:]
            assert beat.alive, beat.log.read_text()[-3000:]

            redis.start()
            returned = time.monotonic()
            delivered = wait_until(
                lambda: all(r.status == Status.SENT for r in _rows(schema)), 60, step=0.2
            )
            recovery = time.monotonic() - returned
            assert delivered, [(r.status, r.lease_until, r.last_error) for r in _rows(schema)]
            print(f"broker back: every held-back message delivered in {recovery:.1f} s")
            assert recovery <= RECOVERY_BUDGET_SECONDS, recovery
            assert worker.alive
            assert beat.alive

            rows = _rows(schema)
            sms_rows = [str(r.pk) for r in rows if r.payload.get("channel") == "sms"]
            assert sms_ids(var_dir) == Counter(sms_rows)  # every SMS once
        finally:
            worker.stop()
            beat.stop()
            redis.stop()
            settings.CELERY_BROKER_URL = real_setting
            app.conf.broker_url = real_conf
            _reset_broker_pools()
            connections.close_all()
            _cleanup(agency, citizens, None)
