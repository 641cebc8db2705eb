"""Notifications travel through the outbox: right channel, right language, retried when down."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.notifications.rendering import Template
from apps.notifications.services import notification_enqueue
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_process
from tests.factories import UserFactory
from tests.outbox.builders import http_receiver, submitted

pytestmark = pytest.mark.django_db


def _deliver_all(schema: str = "agence_a") -> list[str]:
    with schema_context(schema):
        ids = list(
            OutboxMessage.objects.filter(kind="notification", status=Status.PENDING)
            .order_by("created_at")
            .values_list("pk", flat=True)
        )
        return [outbox_process(message_id=pk).status for pk in ids]


def _sms_lines(directory) -> list[dict]:
    path = directory / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_one_message_per_channel_the_person_has(agency_a, citizen):
    only_mail = UserFactory(phone=None)
    only_phone = UserFactory(email=None, phone="+22890000077")
    with schema_context("agence_a"):
        both = notification_enqueue(
            recipient_id=citizen.pk, template=Template.APPLICATION_SUBMITTED
        )
        mail_only = notification_enqueue(
            recipient_id=only_mail.pk, template=Template.APPLICATION_SUBMITTED
        )
        phone_only = notification_enqueue(
            recipient_id=only_phone.pk, template=Template.APPLICATION_SUBMITTED
        )
        nobody = notification_enqueue(
            recipient_id=UserFactory(is_active=False).pk, template=Template.APPLICATION_SUBMITTED
        )
    assert [m.payload["channel"] for m in both] == ["sms", "email"]
    assert [m.payload["channel"] for m in mail_only] == ["email"]
    assert [m.payload["channel"] for m in phone_only] == ["sms"]
    assert nobody == []
    assert both[0].payload == {
        "template": "application_submitted",
        "recipient_id": str(citizen.pk),
        "channel": "sms",
    }


def test_unknown_template_cannot_be_queued(agency_a, citizen):
    with schema_context("agence_a"), pytest.raises(ValueError, match="unknown"):
        notification_enqueue(recipient_id=citizen.pk, template="nope")


def test_citizen_gets_sms_and_mail_in_french_by_default(agency_a, citizen, sms_dir):
    application = submitted("agence_a", citizen)  # the submission queues both notices

    assert _deliver_all() == ["sent", "sent"]

    [sms] = _sms_lines(sms_dir)
    assert sms["to"] == citizen.phone
    assert application.reference in sms["body"]
    assert "reçue" in sms["body"]
    [message] = mail.outbox
    assert message.to == [citizen.email]
    assert message.subject == f"Demande {application.reference} reçue"
    assert "Extrait de casier judiciaire" in message.body
    assert "Agence A" in message.body


def test_english_speakers_get_english_texts(agency_a, citizen, sms_dir):
    citizen.preferred_language = "en"
    citizen.save(update_fields=["preferred_language"])
    application = submitted("agence_a", citizen)

    assert _deliver_all() == ["sent", "sent"]

    assert "was received" in _sms_lines(sms_dir)[0]["body"]
    assert mail.outbox[0].subject == f"Application {application.reference} received"
    assert "Criminal record extract" in mail.outbox[0].body


def test_a_recipient_who_lost_the_channel_is_skipped(agency_a, citizen, sms_dir):
    with schema_context("agence_a"):
        notification_enqueue(recipient_id=citizen.pk, template=Template.APPLICATION_SUBMITTED)
    citizen.phone = None
    citizen.save(update_fields=["phone"])

    assert _deliver_all() == ["sent", "sent"]  # done: nobody to retry for

    assert _sms_lines(sms_dir) == []
    assert len(mail.outbox) == 1


def test_sms_gateway_down_is_queued_and_retried_until_it_is_back(agency_a, citizen, settings):
    settings.SMS_BACKEND = "apps.notifications.sms.HTTPSMSBackend"
    citizen.email = None
    citizen.save(update_fields=["email"])
    with schema_context("agence_a"):
        [message] = notification_enqueue(
            recipient_id=citizen.pk, template=Template.APPLICATION_SUBMITTED
        )

    with http_receiver(status=503) as down:
        settings.SMS_GATEWAY_URL = down.url
        first = _deliver_all()
    with schema_context("agence_a"):
        row = OutboxMessage.objects.get(pk=message.pk)
    assert first == ["pending"]
    assert row.attempts == 1
    assert "503" in row.last_error
    assert len(down.requests) == 1

    with http_receiver(status=200) as up:
        settings.SMS_GATEWAY_URL = up.url
        with schema_context("agence_a"):
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        second = _deliver_all()
        third = _deliver_all()  # nothing left: delivered once
    assert second == ["sent"]
    assert third == []
    assert len(up.requests) == 1
    with schema_context("agence_a"):
        row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.attempts == 2


def test_a_gateway_refusing_the_number_dead_letters_at_once(agency_a, citizen, settings):
    settings.SMS_BACKEND = "apps.notifications.sms.HTTPSMSBackend"
    with schema_context("agence_a"):
        notification_enqueue(recipient_id=citizen.pk, template=Template.APPLICATION_SUBMITTED)

    with http_receiver(status=422) as refusing:
        settings.SMS_GATEWAY_URL = refusing.url
        outcomes = _deliver_all()

    assert sorted(outcomes) == ["dead", "sent"]  # the e-mail still went


def test_mail_server_failure_is_retried(agency_a, citizen, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 1  # nothing listens there
    settings.EMAIL_TIMEOUT = 1
    citizen.phone = None
    citizen.save(update_fields=["phone"])
    with schema_context("agence_a"):
        notification_enqueue(recipient_id=citizen.pk, template=Template.APPLICATION_SUBMITTED)

    assert _deliver_all() == ["pending"]
    with schema_context("agence_a"):
        assert "mail server" in OutboxMessage.objects.get().last_error


def test_agents_are_told_of_an_assignment_in_their_language(agency_a, citizen, staff_of, sms_dir):
    agent = staff_of(agency_a, Role.AGENT)
    agent.preferred_language = "en"
    agent.phone = "+22890000099"
    agent.save()
    application = submitted("agence_a", citizen)
    with schema_context("agence_a"):
        OutboxMessage.objects.all().delete()  # the citizen's own notices
        notification_enqueue(
            recipient_id=agent.pk,
            template=Template.APPLICATION_ASSIGNED,
            application_id=application.pk,
        )

    _deliver_all()

    [sms] = _sms_lines(sms_dir)
    assert sms["to"] == "+22890000099"
    assert "is assigned to you" in sms["body"]
    assert mail.outbox[0].to == [agent.email]


def test_the_certificate_notice_carries_the_code_and_the_verification_link(
    agency_a, citizen, staff_of, sms_dir, settings, tmp_path
):
    from apps.certificates.services import certificate_issue
    from tests.outbox.builders import in_state

    settings.MEDIA_ROOT = str(tmp_path / "media")
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("agence_a", citizen, agent, "approved")
    with schema_context("agence_a"):
        OutboxMessage.objects.all().delete()
        certificate = certificate_issue(application_id=application.pk)

    assert _deliver_all() == ["sent", "sent"]

    [sms] = _sms_lines(sms_dir)
    assert certificate.display_code in sms["body"]
    assert f"http://agence-a.localhost/verify/{certificate.code}/" in mail.outbox[0].body
    assert mail.outbox[0].subject == f"Document {certificate.reference} délivré"


def test_an_unknown_channel_is_a_dead_letter(agency_a, citizen):
    from apps.notifications.handlers import notification_deliver
    from apps.outbox.handlers import DeliveryError

    message = OutboxMessage(
        kind="notification",
        payload={
            "template": "application_submitted",
            "recipient_id": str(citizen.pk),
            "channel": "fax",
        },
    )
    citizen.phone = "+22890000001"
    with pytest.raises(DeliveryError) as error:
        notification_deliver(message)
    assert error.value.permanent
