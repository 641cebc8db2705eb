"""A worker killed (SIGKILL) between the gateway taking an SMS and the worker recording it sent:
after the restart the citizen has received the SMS exactly once.

Real processes: a redis-server of the test's own, a ``celery`` worker on the test database,
and a fake SMS gateway on loopback that counts messages by client reference and kills the
worker's whole process group the moment it receives the message (before it answers), which
is the worst instant. With the gateway's status query the restarted worker asks, finds the
message there, and marks it sent; without one it does not send it again and marks it
``unknown`` for an operator.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from apps.agencies.services import agency_create
from apps.audit.models import AuditEvent
from apps.outbox.models import OutboxMessage, Status
from chaos.gateway import sms_gateway
from chaos.stack import RedisServer, celery_worker, wait_until
from config.celery import app
from tests.factories import UserFactory
from tests.outbox.builders import simple_service
from tests.outbox.test_broker_outage import _cleanup, _reset_broker_pools, _submit
from tests.outbox.test_worker_reconnect import process_env, worker_ready


def _sms_rows(schema: str) -> list[OutboxMessage]:
    with schema_context(schema):
        return [
            row
            for row in OutboxMessage.objects.exclude(kind="realtime").order_by("created_at")
            if row.payload.get("channel") == "sms"
        ]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.parametrize(
    ("status_query", "final_status"),
    [(True, Status.SENT), (False, Status.UNKNOWN)],
    ids=["gateway-with-status-query", "gateway-without-status-query"],
)
def test_a_worker_killed_after_the_gateway_took_the_sms_never_sends_it_twice(
    django_db_setup, django_db_blocker, settings, tmp_path, status_query, final_status
):
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    real_setting, real_conf = settings.CELERY_BROKER_URL, app.conf.broker_url
    settings.CELERY_BROKER_URL = redis.url
    app.conf.broker_url = redis.url
    _reset_broker_pools()
    kills: list[str] = []
    slug = f"sigkill-{uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock(), sms_gateway() as gateway:
        extra = {
            "SMS_BACKEND": "apps.notifications.sms.HTTPSMSBackend",
            "SMS_GATEWAY_URL": gateway.send_url,
            "SMS_GATEWAY_STATUS_URL": gateway.status_url if status_query else "",
        }
        worker = celery_worker(
            env=process_env(redis.url, tmp_path / "var", **extra),
            log=tmp_path / "worker.log",
            queue="guichet-test",
        )

        def kill_at_first_receipt(reference: str) -> None:
            if not kills:
                kills.append(reference)
                worker.kill()  # the gateway has it; the worker never records it

        gateway.on_receive = kill_at_first_receipt
        agency = agency_create(
            slug=slug, name_fr="Agence arrêt", name_en="Kill agency", domain=f"{slug}.local"
        )
        schema = agency.schema_name
        citizen = UserFactory(email=None, phone="+22895001122")
        try:
            simple_service(schema)
            worker.start()
            assert wait_until(lambda: worker_ready(worker), 90), worker.log.read_text()
            _submit(schema, citizen)

            assert wait_until(lambda: bool(kills) and not worker.alive, 60), kills
            (row,) = _sms_rows(schema)
            assert row.status == Status.PENDING
            assert row.attempt_started_at is not None  # recorded before the gateway was called
            assert gateway.counts[str(row.pk)] == 1

            worker.start()  # a fresh worker: the reconnection relay hands the message over again
            assert wait_until(
                lambda: _sms_rows(schema)[0].status != Status.PENDING, 90, step=0.2
            ), worker.log.read_text()[-3000:]

            (row,) = _sms_rows(schema)
            assert row.status == final_status, row.last_error
            assert gateway.counts == {str(row.pk): 1}  # delivered exactly once
            assert row.attempt_started_at is None or final_status == Status.UNKNOWN
            if final_status == Status.UNKNOWN:
                with schema_context(schema):
                    assert AuditEvent.objects.filter(
                        action="outbox.outcome_unknown", target_id=str(row.pk)
                    ).exists()
        finally:
            worker.stop()
            redis.stop()
            settings.CELERY_BROKER_URL = real_setting
            app.conf.broker_url = real_conf
            _reset_broker_pools()
            connections.close_all()
            _cleanup(agency, [citizen], None)
