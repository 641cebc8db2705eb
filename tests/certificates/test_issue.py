"""Issuing the certificate of an approved application: PDF, hash, signature, QR, follow-ups."""

from __future__ import annotations

import hashlib
import io

import pypdf
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.certificates.codes import code_digest, code_display
from apps.certificates.handlers import document_run
from apps.certificates.models import Certificate, CertificateStatus
from apps.certificates.rendering import RenderingError, render_certificate_pdf
from apps.certificates.services import certificate_issue, certificate_job_enqueue
from apps.certificates.signing import verify_agency_token
from apps.outbox.handlers import DeliveryError
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_process
from tests.outbox.builders import in_state
from tests.webhooks.conftest import make_partner

pytestmark = pytest.mark.django_db


def test_the_pdf_is_stored_under_the_agency_prefix_with_its_hash(certificate, media_root):
    path = media_root / certificate.file_path
    pdf = path.read_bytes()

    assert certificate.file_path.startswith("agence_a/certificates/")
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == certificate.sha256
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Afi Mensah" in text
    assert certificate.reference in text
    assert code_display(certificate.code) in text
    assert "Extrait de casier judiciaire" in text  # the holder reads French
    assert "RÉPUBLIQUE TOGOLAISE" in text
    assert "Page 1 / 1" in text


def test_the_signed_payload_names_agency_reference_holder_date_and_hash(certificate):
    with schema_context("agence_a"):
        payload = verify_agency_token(certificate.signed_payload, "agence_a")

    assert payload == {
        "v": 2,
        "a": "agence-a",
        "r": certificate.reference,
        "h": "Afi Mensah",
        "d": timezone.localdate(certificate.issued_at).isoformat(),
        "s": certificate.content_sha256,
        "c": certificate.code,
        "k": certificate.key_id,
    }
    assert certificate.code_hash == code_digest(certificate.code)


def test_the_qr_code_on_the_pdf_carries_the_verification_url_and_token(certificate, media_root):
    from apps.certificates.preview import pdf_to_png
    from tests.certificates.test_layout import _scan

    png = pdf_to_png((media_root / certificate.file_path).read_bytes(), dpi=150)
    if png is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    expected_text = (
        f"http://agence-a.localhost/verify/{certificate.code}/#{certificate.signed_payload}"
    )

    assert _scan(png) == [expected_text]


def test_issuing_is_audited_and_queues_the_citizen_notice_and_the_webhook(
    agency_a, approved, citizen
):
    partner = make_partner(agency_a, ["webhooks:manage"])
    from apps.webhooks.services import subscription_create

    with schema_context("agence_a"):
        subscription_create(
            partner_client_id=partner.client.pk,
            url="http://127.0.0.1:9/hook",
            events=["certificate.issued"],
        )
        OutboxMessage.objects.all().delete()
        certificate = certificate_issue(application_id=approved.pk)
        event = AuditEvent.objects.get(action="certificate.issued")
        queued = list(OutboxMessage.objects.exclude(kind="realtime").order_by("created_at"))

    assert event.target_id == str(certificate.pk)
    assert event.changes["sha256"]["new"] == certificate.sha256
    assert "holder_name" not in event.changes
    assert [(m.kind, m.payload.get("template") or m.payload.get("event")) for m in queued] == [
        ("notification", "certificate_issued"),
        ("notification", "certificate_issued"),
        ("webhook", "certificate.issued"),
    ]
    assert queued[0].payload["certificate_id"] == str(certificate.pk)
    assert queued[0].payload["recipient_id"] == str(citizen.pk)
    assert queued[2].payload["data"]["code"] == certificate.code


def test_issuing_twice_gives_the_same_certificate(approved, media_root):
    with schema_context("agence_a"):
        first = certificate_issue(application_id=approved.pk)
        second = certificate_issue(application_id=approved.pk)
        assert Certificate.objects.count() == 1
        assert AuditEvent.objects.filter(action="certificate.issued").count() == 1
    assert first.pk == second.pk
    assert len(list((media_root / "agence_a" / "certificates").rglob("*.pdf"))) == 1


def test_nothing_is_issued_for_an_application_that_was_not_approved(agency_a, citizen, agent):
    rejected = in_state("agence_a", citizen, agent, "rejected")
    with schema_context("agence_a"):
        assert certificate_issue(application_id=rejected.pk) is None
        assert certificate_issue(application_id="00000000-0000-0000-0000-000000000000") is None
        assert not Certificate.objects.exists()


def test_a_closed_approved_application_still_gets_its_certificate(agency_a, approved, staff_of):
    from apps.accounts.models import Role
    from tests.outbox.builders import advance

    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    advance("agence_a", approved.pk, "close", supervisor, Role.SUPERVISOR)
    with schema_context("agence_a"):
        assert certificate_issue(application_id=approved.pk) is not None


def test_the_job_runs_through_the_outbox_once(approved):
    with schema_context("agence_a"):
        OutboxMessage.objects.all().delete()
        certificate_job_enqueue(application_id=approved.pk)
        certificate_job_enqueue(application_id=approved.pk)  # deduplicated
        [job] = OutboxMessage.objects.filter(kind="document")

        assert outbox_process(message_id=job.pk).status == Status.SENT
        assert outbox_process(message_id=job.pk).status == Status.SENT
        assert Certificate.objects.filter(application_id=approved.pk).count() == 1
        assert Certificate.objects.get().status == CertificateStatus.VALID


def test_a_rendering_failure_keeps_no_file_and_is_retried(approved, media_root, monkeypatch):
    from apps.certificates import services

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "audit_record", broken)
    with schema_context("agence_a"):
        OutboxMessage.objects.all().delete()
        certificate_job_enqueue(application_id=approved.pk)
        [job] = OutboxMessage.objects.filter(kind="document")
        outcome = outbox_process(message_id=job.pk)
        assert not Certificate.objects.exists()
    assert outcome.status == Status.PENDING
    assert list((media_root / "agence_a").rglob("*.pdf")) == []


def test_unknown_document_jobs_are_dead_letters_at_once(agency_a):
    message = OutboxMessage(kind="document", payload={"job": "shred"})
    with pytest.raises(DeliveryError) as error:
        document_run(message)
    assert error.value.permanent


def test_content_missing_a_field_is_a_rendering_error():
    with pytest.raises(RenderingError):
        render_certificate_pdf(content={"language": "fr"}, qr_text="x")
