"""After an interrupted attempt (recorded, outcome not recorded) a notification is checked with
its provider before anything is sent again, and delivered once.

The interrupted state is what a killed worker leaves behind: ``attempt_started_at`` set on a
pending row (the real kill is in test_worker_killed.py).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.notifications.handlers import email_message_id, email_was_sent
from apps.notifications.rendering import Template
from apps.notifications.services import notification_enqueue
from apps.notifications.sms import FileSMSBackend, HTTPSMSBackend, SMSError
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_process, outbox_requeue
from chaos.gateway import sms_gateway
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _interrupted(channel: str, **user) -> OutboxMessage:
    """A pending message of ``channel`` whose attempt started and never recorded its end."""
    person = UserFactory(**user)
    with schema_context("agence_a"):
        messages = notification_enqueue(
            recipient_id=person.pk, template=Template.APPLICATION_SUBMITTED
        )
        (message,) = [m for m in messages if m.payload["channel"] == channel]
        OutboxMessage.objects.filter(pk=message.pk).update(attempt_started_at=timezone.now())
        return message


def _process(message: OutboxMessage) -> OutboxMessage:
    with schema_context("agence_a"):
        outbox_process(message_id=message.pk)
        return OutboxMessage.objects.get(pk=message.pk)


def _sms_count(directory: Path, message_id: str) -> int:
    path = directory / "sms.jsonl"
    if not path.exists():
        return 0
    return [json.loads(line)["id"] for line in path.read_text().splitlines()].count(message_id)


def test_an_attempt_is_recorded_before_the_provider_and_cleared_after(agency_a, sms_dir):
    person = UserFactory(email=None, phone="+22890001001")
    seen: list[object] = []
    original = FileSMSBackend.send

    def spy(self, **kwargs):
        seen.append(OutboxMessage.objects.get(pk=kwargs["message_id"]).attempt_started_at)
        original(self, **kwargs)

    with schema_context("agence_a"):
        (message,) = notification_enqueue(
            recipient_id=person.pk, template=Template.APPLICATION_SUBMITTED
        )
    FileSMSBackend.send = spy
    try:
        row = _process(message)
    finally:
        FileSMSBackend.send = original
    assert seen
    assert seen[0] is not None  # on record while the gateway was contacted
    assert row.status == Status.SENT
    assert row.attempt_started_at is None


def test_an_sms_the_file_gateway_has_is_not_sent_again(agency_a, sms_dir):
    message = _interrupted("sms", email=None, phone="+22890001002")
    FileSMSBackend(sms_dir).send(to="+22890001002", body="Bonjour", message_id=str(message.pk))

    row = _process(message)

    assert row.status == Status.SENT
    assert _sms_count(sms_dir, str(message.pk)) == 1


def test_an_sms_the_file_gateway_never_got_is_sent_once(agency_a, sms_dir):
    message = _interrupted("sms", email=None, phone="+22890001003")

    row = _process(message)

    assert row.status == Status.SENT
    assert row.attempt_started_at is None
    assert _sms_count(sms_dir, str(message.pk)) == 1


@pytest.fixture
def http_gateway(settings):
    settings.SMS_BACKEND = "apps.notifications.sms.HTTPSMSBackend"
    settings.SMS_GATEWAY_READ_TIMEOUT = 0.5
    with sms_gateway() as gateway:
        settings.SMS_GATEWAY_URL = gateway.send_url
        settings.SMS_GATEWAY_STATUS_URL = gateway.status_url
        yield gateway


def test_the_http_gateway_is_asked_by_client_reference(agency_a, http_gateway):
    taken = _interrupted("sms", email=None, phone="+22890001004")
    lost = _interrupted("sms", email=None, phone="+22890001005")
    http_gateway.counts[str(taken.pk)] = 1  # it took the first before the worker died

    assert _process(taken).status == Status.SENT
    assert _process(lost).status == Status.SENT
    assert http_gateway.counts == {str(taken.pk): 1, str(lost.pk): 1}


def test_without_a_status_query_the_sms_becomes_unknown_and_operators_decide(
    agency_a, http_gateway, settings, published
):
    settings.SMS_GATEWAY_STATUS_URL = ""
    message = _interrupted("sms", email=None, phone="+22890001006")

    row = _process(message)

    assert row.status == Status.UNKNOWN
    assert http_gateway.counts == {}  # not sent twice
    with schema_context("agence_a"):
        assert AuditEvent.objects.filter(
            action="outbox.outcome_unknown", target_id=str(message.pk)
        ).exists()
        assert outbox_process(message_id=message.pk).status == Status.UNKNOWN  # left alone
        assert outbox_requeue(message_ids=[message.pk]) == 1  # an operator chose to resend
        row = OutboxMessage.objects.get(pk=message.pk)
        assert row.status == Status.PENDING
        assert row.attempt_started_at is None
    assert _process(message).status == Status.SENT
    assert http_gateway.counts == {str(message.pk): 1}


def test_a_status_query_that_fails_is_asked_again_later(agency_a, http_gateway, settings):
    settings.SMS_GATEWAY_STATUS_URL = "http://127.0.0.1:1/sms/{reference}"
    message = _interrupted("sms", email=None, phone="+22890001007")

    row = _process(message)

    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert row.attempt_started_at is not None  # still in doubt: the next attempt asks again
    assert http_gateway.counts == {}


def test_a_gateway_timeout_leaves_the_attempt_in_doubt(agency_a, settings):
    settings.SMS_BACKEND = "apps.notifications.sms.HTTPSMSBackend"
    settings.SMS_GATEWAY_READ_TIMEOUT = 0.2
    settings.SMS_GATEWAY_STATUS_URL = ""
    with sms_gateway(on_receive=lambda reference: threading.Event().wait(1.0)) as gateway:
        settings.SMS_GATEWAY_URL = gateway.send_url
        person = UserFactory(email=None, phone="+22890001008")
        with schema_context("agence_a"):
            (message,) = notification_enqueue(
                recipient_id=person.pk, template=Template.APPLICATION_SUBMITTED
            )
        row = _process(message)
        assert row.status == Status.PENDING
        assert row.attempt_started_at is not None
        # The retry cannot ask this gateway: never sent twice, shown to operators.
        with schema_context("agence_a"):
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        assert _process(message).status == Status.UNKNOWN
        assert gateway.counts == {str(message.pk): 1}


def test_the_http_status_query_answers(settings):
    settings.SMS_GATEWAY_TOKEN = "t"
    with sms_gateway() as gateway:
        settings.SMS_GATEWAY_STATUS_URL = gateway.status_url
        gateway.counts["a/b"] = 1
        assert HTTPSMSBackend().was_sent(message_id="a/b") is True
        assert HTTPSMSBackend().was_sent(message_id="other") is False
    settings.SMS_GATEWAY_STATUS_URL = ""
    assert HTTPSMSBackend().was_sent(message_id="x") is None


def test_a_status_query_answering_an_error_raises(settings):
    from tests.outbox.builders import http_receiver

    with http_receiver(status=500) as receiver:
        settings.SMS_GATEWAY_STATUS_URL = receiver.url + "/{reference}"
        # The loopback receiver only answers POST: GET gets 501 from the server.
        with pytest.raises(SMSError):
            HTTPSMSBackend().was_sent(message_id="x")


def test_an_email_already_in_the_mailbox_is_not_sent_again(agency_a, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = _interrupted("email", phone=None)
    with schema_context("agence_a"):
        row = OutboxMessage.objects.get(pk=message.pk)
        row.attempt_started_at = None
        row.save()
    _process(message)  # the first attempt sends it
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == email_message_id(message)
    with schema_context("agence_a"):
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=Status.PENDING, sent_at=None, attempt_started_at=timezone.now()
        )

    assert _process(message).status == Status.SENT

    assert len(mail.outbox) == 1


def test_an_email_in_doubt_over_smtp_is_repeated_with_the_same_message_id(agency_a, settings):
    message = _interrupted("email", phone=None)
    sent: list[str] = []

    class RecordingSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def send_messages(self, messages):
            sent.extend(m.extra_headers["Message-ID"] for m in messages)
            return len(messages)

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    import django.core.mail.backends.smtp as smtp

    original = smtp.EmailBackend
    smtp.EmailBackend = RecordingSMTP
    try:
        assert _process(message).status == Status.SENT
    finally:
        smtp.EmailBackend = original
    assert sent == [email_message_id(message)]


def test_the_file_mail_backend_is_searched_by_message_id(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    assert email_was_sent("<x@guichet>") is False
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "1.log").write_bytes(b"Subject: s\nMessage-ID: <x@guichet>\n\nbody")
    assert email_was_sent("<x@guichet>") is True
    assert email_was_sent("<y@guichet>") is False


def test_a_second_copy_while_an_attempt_runs_is_told_busy(agency_a, sms_dir):
    message = _interrupted("sms", email=None, phone="+22890001009")
    key = f"outbox:agence_a:{message.pk}"
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        from django.db import connections

        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
                held.set()
                release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
        finally:
            other.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)
        with schema_context("agence_a"):
            assert outbox_process(message_id=message.pk).status == "busy"
    finally:
        release.set()
        thread.join()
    assert _sms_count(sms_dir, str(message.pk)) == 0
    assert connection.is_usable()
