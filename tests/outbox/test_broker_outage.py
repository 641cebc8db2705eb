"""The broker is unreachable while citizens submit; once it is back, every notification and
webhook is delivered exactly once (real broker, real worker thread, committed data).

The broker is CELERY_BROKER_URL (Redis in CI), or Celery's filesystem transport when unset.
The outage is a dead port for the relay's publishing, as the readiness test does. The test
runs in an agency of its own, dropped at the end, so its committed rows touch no other test.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core import mail
from django.db import connections, transaction
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.services import partner_client_create
from apps.agencies.models import Agency
from apps.agencies.services import agency_create
from apps.applications import services as application_services
from apps.audit.models import AuditEvent
from apps.core.tasks import schema_probe
from apps.directory.models import ApplicationEntry
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_relay
from apps.outbox.tasks import outbox_deliver, outbox_relay_all
from apps.webhooks.services import subscription_create
from config.celery import app
from tests.factories import UserFactory
from tests.outbox.builders import SERVICE_CODE, http_receiver, simple_service

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1
CITIZENS = 5


def _close_worker_connections(**kwargs):
    connections.close_all()  # the worker thread's own connections, so the test DB can be dropped


def _reset_broker_pools() -> None:
    # Forget the app's pools (kombu keeps one per URL) so the next publish uses the new URL.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_unreachable(settings):
    """Every publisher (the relay from settings, Celery's own pools) points at a dead port."""
    real_setting, real_conf = settings.CELERY_BROKER_URL, app.conf.broker_url
    settings.CELERY_BROKER_URL = DEAD_BROKER
    app.conf.broker_url = DEAD_BROKER
    _reset_broker_pools()
    try:
        yield
    finally:
        settings.CELERY_BROKER_URL = real_setting
        app.conf.broker_url = real_conf
        _reset_broker_pools()


def _submit(schema: str, citizen: User) -> float:
    """Create and submit an application (committed); return how long the caller waited."""
    started = time.monotonic()
    with schema_context(schema):
        with transaction.atomic():
            draft = application_services.application_create(
                citizen=citizen, service_code=SERVICE_CODE, form_data={"nom": "Mensah"}
            )
        with transaction.atomic():
            application_services.application_submit(application_id=draft.id, citizen=citizen)
    return time.monotonic() - started


def _rows(schema: str) -> list[OutboxMessage]:
    with schema_context(schema):
        # Real-time events are delivered in-process after the commit, broker or not
        # (REALTIME_DELIVER_ON_COMMIT; tests/realtime): not part of this relay's story.
        return list(OutboxMessage.objects.exclude(kind="realtime").order_by("created_at"))


def _wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _cleanup(agency: Agency, users: list[User], partner_id) -> None:
    from apps.accounts.models import PartnerClient, PartnerSecret

    ApplicationEntry.objects.filter(agency=agency).delete()
    agency.delete(force_drop=True)  # drops the schema and everything in it
    # Raw deletes: the ORM's cascade would look for agency tables in the public schema.
    users_left = User.objects.filter(pk__in=[u.pk for u in users])
    users_left._raw_delete(users_left.db)
    secrets_left = PartnerSecret.objects.filter(client_id=partner_id)
    secrets_left._raw_delete(secrets_left.db)
    partners_left = PartnerClient.objects.filter(pk=partner_id)
    partners_left._raw_delete(partners_left.db)


@pytest.mark.broker
@pytest.mark.slow
def test_every_message_is_delivered_exactly_once_after_a_broker_outage(
    django_db_setup, django_db_blocker, settings, tmp_path
):
    settings.SMS_BACKEND = "apps.notifications.sms.FileSMSBackend"
    settings.SMS_FILE_DIR = tmp_path / "sms"
    slug = f"relais-{uuid.uuid4().hex[:6]}"
    task_postrun.connect(_close_worker_connections, weak=False)
    with django_db_blocker.unblock():
        agency = agency_create(
            slug=slug, name_fr="Agence relais", name_en="Relay agency", domain=f"{slug}.localhost"
        )
        schema = agency.schema_name
        citizens = [
            UserFactory(email=f"relais-{uuid.uuid4().hex}@example.tg", phone=f"+2289300{n:04d}")
            for n in range(CITIZENS)
        ]
        partner, _secret = partner_client_create(
            name="Banque", grants={agency: ["webhooks:manage"]}
        )
        try:
            simple_service(schema)
            with http_receiver(status=200) as receiver:
                with schema_context(schema):
                    subscription_create(
                        partner_client_id=partner.pk,
                        url=receiver.url,
                        events=["application.submitted"],
                    )

                # 1. The broker is down while citizens submit.
                with broker_unreachable(settings):
                    waits = [_submit(schema, citizen) for citizen in citizens]

                rows = _rows(schema)
                assert max(waits) < 2.0, waits  # the outage never holds a citizen's request
                assert len(rows) == CITIZENS * 3  # SMS + e-mail + webhook per submission
                assert {row.status for row in rows} == {Status.PENDING}
                assert all(row.lease_until is None for row in rows)  # never published
                assert not (tmp_path / "sms" / "sms.jsonl").exists()
                assert mail.outbox == []
                assert receiver.requests == []

                # 2. The broker is back: a worker runs, the periodic relay and a direct relay
                # race, and one message is also queued twice (as a broker redelivery would).
                with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
                    with schema_context(schema):
                        outbox_deliver.delay(message_id=str(rows[0].pk))
                    outbox_relay_all.delay()
                    with schema_context(schema):
                        outbox_relay()
                    delivered = _wait_for(
                        lambda: all(row.status == Status.SENT for row in _rows(schema))
                    )
                    marker = f"probe.{uuid.uuid4().hex}"
                    with schema_context(schema):
                        schema_probe.delay(marker=marker)  # queued last: the queue is drained

                    def drained() -> bool:
                        with schema_context(schema):
                            return AuditEvent.objects.filter(
                                action="core.schema_probe", target_id=marker
                            ).exists()

                    drained_in_time = _wait_for(drained)

                assert delivered, [(r.kind, r.status, r.last_error) for r in _rows(schema)]
                assert drained_in_time
                rows = _rows(schema)
                assert {row.attempts for row in rows} == {1}

                sms = [
                    json.loads(line)
                    for line in (tmp_path / "sms" / "sms.jsonl").read_text().splitlines()
                ]
                sms_rows = {str(r.pk) for r in rows if r.payload.get("channel") == "sms"}
                assert Counter(line["id"] for line in sms) == Counter(sms_rows)  # once each
                assert {line["to"] for line in sms} == {c.phone for c in citizens}

                mail_rows = {str(r.pk) for r in rows if r.payload.get("channel") == "email"}
                mail_ids = [m.extra_headers["X-Guichet-Message-Id"] for m in mail.outbox]
                assert Counter(mail_ids) == Counter(mail_rows)

                events = [r.headers["Guichet-Event-Id"] for r in receiver.requests]
                webhook_rows = {r.payload["event_id"] for r in rows if r.kind == "webhook"}
                assert Counter(events) == Counter(webhook_rows)
                assert len(events) == CITIZENS
        finally:
            task_postrun.disconnect(_close_worker_connections)
            connections.close_all()
            _cleanup(agency, citizens, partner.pk)
