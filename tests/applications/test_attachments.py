"""Documents: sniffed type, size limits, agency-prefixed storage, authenticated downloads only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.applications.attachments import safe_file_name, sniff
from apps.applications.models import Application, Attachment
from apps.audit.models import AuditEvent
from tests.applications.conftest import (
    DOC,
    ELF,
    EXE,
    HTML,
    MAX_BYTES,
    PDF,
    PNG,
    SCRIPT,
    draft,
    upload,
)
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def url(application, attachment=None) -> str:
    base = f"/api/v1/applications/{application.id}/attachments/"
    return f"{base}{attachment}/" if attachment else base


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def nothing_written(application, media_root: Path) -> None:
    with schema_context("agence_a"):
        assert not Attachment.objects.filter(application_id=application.id).exists()
        assert Application.objects.get(pk=application.id).version == application.version
        assert not AuditEvent.objects.filter(action="application.attachment_added").exists()
    assert stored_files(media_root) == []


def test_a_pdf_is_stored_under_the_agency_prefix_with_its_hash(
    api, service_a, citizen, tokens, media_root
):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(citizen).access).post(
        url(application),
        {"document_type": DOC, "file": upload(PDF, name="../../etc/Pièce d'identité.PDF")},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mime_type"] == "application/pdf"
    assert body["size"] == len(PDF)
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["file_name"] == "Piece d_identite.pdf"
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(pk=body["id"])
        assert attachment.uploaded_by_id == citizen.id
        assert attachment.file_path == (
            f"agence_a/applications/{application.id}/{attachment.id}.pdf"
        )
        assert Application.objects.get(pk=application.id).version == application.version + 1
        event = AuditEvent.objects.get(action="application.attachment_added")
        assert event.changes["sha256"]["new"] == body["sha256"]
    assert (media_root / attachment.file_path).read_bytes() == PDF
    assert response["ETag"]


def test_the_claimed_type_does_not_matter_only_the_content(api, service_a, citizen, tokens):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(citizen).access).post(
        url(application),
        {
            "document_type": DOC,
            "file": upload(PNG, name="scan.pdf", content_type="application/pdf"),
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert response.json()["mime_type"] == "image/png"
    assert response.json()["file_name"] == "scan.png"


@pytest.mark.parametrize(
    "content",
    [EXE, ELF, SCRIPT, HTML, b"just some text, no signature"],
    ids=["windows-exe", "elf", "shebang-script", "html", "unknown"],
)
def test_executables_and_unknown_content_renamed_pdf_are_415_and_nothing_is_stored(
    api, service_a, citizen, tokens, media_root, content
):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(citizen).access).post(
        url(application),
        {"document_type": DOC, "file": upload(content, name="facture.pdf")},
        format="multipart",
    )

    body = assert_problem(response, 415, "attachment_type_refused")
    assert body["accepted_types"] == ["application/pdf", "image/jpeg", "image/png"]
    nothing_written(application, media_root)


def test_a_type_the_document_does_not_accept_is_415(api, service_a, citizen, tokens, media_root):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(citizen).access).post(
        url(application), {"document_type": "justificatif", "file": upload(PNG)}, format="multipart"
    )

    assert_problem(response, 415, "attachment_type_refused")
    nothing_written(application, media_root)


def test_an_oversized_file_is_413_and_nothing_is_stored(
    api, service_a, citizen, tokens, media_root
):
    application = draft("agence_a", citizen, attach=False)
    big = PDF + b"0" * MAX_BYTES

    response = api(HOST_A, tokens(citizen).access).post(
        url(application), {"document_type": DOC, "file": upload(big)}, format="multipart"
    )

    body = assert_problem(response, 413, "attachment_too_large")
    assert body["max_bytes"] == MAX_BYTES
    nothing_written(application, media_root)


def test_an_unknown_document_type_is_400(api, service_a, citizen, tokens, media_root):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(citizen).access).post(
        url(application), {"document_type": "passeport", "file": upload()}, format="multipart"
    )

    body = assert_problem(response, 400, "document_type_unknown")
    assert "document_type" in body["errors"]
    nothing_written(application, media_root)


def test_a_missing_file_is_400(api, service_a, citizen, tokens, media_root):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(citizen).access).post(
        url(application), {"document_type": DOC}, format="multipart"
    )

    body = assert_problem(response, 400, "validation_failed")
    assert "file" in body["errors"]
    nothing_written(application, media_root)


def test_a_failure_after_the_file_is_written_removes_it(
    api, service_a, citizen, tokens, media_root, monkeypatch
):
    application = draft("agence_a", citizen, attach=False)

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("apps.applications.services.attachments.audit_record", broken)
    client = api(HOST_A, tokens(citizen).access)
    client.raise_request_exception = False

    response = client.post(
        url(application), {"document_type": DOC, "file": upload()}, format="multipart"
    )

    assert response.status_code == 500
    nothing_written(application, media_root)


def test_documents_cannot_be_added_once_submitted(
    api, in_state, citizen, tokens, media_root, service_a
):
    application = in_state("submitted")
    files_before = stored_files(media_root)

    response = api(HOST_A, tokens(citizen).access).post(
        url(application), {"document_type": DOC, "file": upload()}, format="multipart"
    )

    assert_problem(response, 409, "application_not_editable")
    assert stored_files(media_root) == files_before


def test_documents_can_be_added_while_information_is_requested(
    api, in_state, citizen, tokens, service_a
):
    application = in_state("info_requested")

    response = api(HOST_A, tokens(citizen).access).post(
        url(application), {"document_type": "justificatif", "file": upload()}, format="multipart"
    )

    assert response.status_code == 201, response.content


def test_another_citizen_cannot_upload(api, service_a, citizen, other_citizen, tokens, media_root):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(other_citizen).access).post(
        url(application), {"document_type": DOC, "file": upload()}, format="multipart"
    )

    assert_problem(response, 404, "application_not_found")
    nothing_written(application, media_root)


def test_owner_downloads_the_file_as_an_attachment(api, service_a, citizen, tokens):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)

    response = api(HOST_A, tokens(citizen).access).get(url(application, attachment.id))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_download_refused_to_everyone_else(
    api, service_a, citizen, other_citizen, tokens, staff_of, agency_b
):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    other_staff = staff_of(agency_b, Role.SUPERVISOR)

    anonymous = api(HOST_A).get(url(application, attachment.id))
    other = api(HOST_A, tokens(other_citizen).access).get(url(application, attachment.id))
    owner_wrong_agency = api(HOST_B, tokens(citizen).access).get(url(application, attachment.id))
    staff_b = api(
        HOST_B, tokens(other_staff, TokenKind.STAFF, agency=agency_b, role=Role.SUPERVISOR).access
    ).get(f"/api/v1/staff/applications/{application.id}/attachments/{attachment.id}/")
    no_such_file = api(HOST_A, tokens(citizen).access).get(url(application, application.id))

    assert_problem(anonymous, 401, "not_authenticated")
    assert_problem(other, 404, "application_not_found")
    assert_problem(owner_wrong_agency, 404, "application_not_found")
    assert_problem(staff_b, 404, "application_not_found")
    assert_problem(no_such_file, 404, "attachment_not_found")
    assert AuditEvent.objects.filter(action="access.cross_agency_denied").count() == 2


def test_staff_of_the_agency_download_and_it_is_audited(
    api, in_state, tokens, staff_of, agency_a, service_a
):
    application = in_state("submitted")
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    auditor = staff_of(agency_a, Role.AUDITOR)

    response = api(
        HOST_A, tokens(auditor, TokenKind.STAFF, agency=agency_a, role=Role.AUDITOR).access
    ).get(f"/api/v1/staff/applications/{application.id}/attachments/{attachment.id}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    with schema_context("agence_a"):
        event = AuditEvent.objects.get(action="application.attachment_downloaded")
        assert event.actor_id == str(auditor.id)
        assert event.changes["attachment"]["new"] == str(attachment.id)


def test_staff_cannot_download_from_a_draft(api, service_a, citizen, tokens, staff_of, agency_a):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    agent = staff_of(agency_a, Role.AGENT)

    response = api(
        HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access
    ).get(f"/api/v1/staff/applications/{application.id}/attachments/{attachment.id}/")

    assert_problem(response, 404, "application_not_found")


def test_a_file_missing_from_storage_is_404_not_500(api, service_a, citizen, tokens, media_root):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    (media_root / attachment.file_path).unlink()

    response = api(HOST_A, tokens(citizen).access).get(url(application, attachment.id))

    assert_problem(response, 404, "attachment_not_found")


def test_media_urls_serve_nothing(api, service_a, citizen, tokens, settings):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)

    response = api(HOST_A, tokens(citizen).access).get(
        f"{settings.MEDIA_URL}{attachment.file_path}"
    )

    assert response.status_code == 404


def test_owner_removes_a_document_from_a_draft(api, service_a, citizen, tokens, media_root):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    path = media_root / attachment.file_path

    response = api(HOST_A, tokens(citizen).access).delete(url(application, attachment.id))

    assert response.status_code == 204
    with schema_context("agence_a"):
        assert not Attachment.objects.filter(pk=attachment.id).exists()
        assert AuditEvent.objects.filter(action="application.attachment_removed").count() == 1
    # The file goes once the removal commits (the test transaction never does).
    assert path.exists()


def test_removing_a_document_deletes_the_file_on_commit(
    api, service_a, citizen, tokens, media_root, django_capture_on_commit_callbacks
):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)

    with django_capture_on_commit_callbacks(execute=True):
        api(HOST_A, tokens(citizen).access).delete(url(application, attachment.id))

    assert not (media_root / attachment.file_path).exists()


def test_removing_from_a_submitted_application_is_409(api, in_state, citizen, tokens, service_a):
    application = in_state("submitted")
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)

    response = api(HOST_A, tokens(citizen).access).delete(url(application, attachment.id))

    assert_problem(response, 409, "application_not_editable")


def test_removing_an_unknown_document_is_404(api, service_a, citizen, tokens):
    application = draft("agence_a", citizen)

    response = api(HOST_A, tokens(citizen).access).delete(url(application, application.id))

    assert_problem(response, 404, "attachment_not_found")


@pytest.mark.parametrize(
    ("head", "mime", "executable"),
    [
        (PDF, "application/pdf", False),
        (PNG, "image/png", False),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg", False),
        (EXE, "application/x-msdownload", True),
        (ELF, "application/x-executable", True),
        (b"\xcf\xfa\xed\xfe" + b"\x00" * 32, "application/x-mach-binary", True),
        (SCRIPT, "text/x-script", True),
        (b"  <?php system($_GET['c']);", "text/html", True),
        (b"\x00asm\x01\x00\x00\x00", "application/wasm", True),
        (b"hello", None, False),
    ],
)
def test_sniffing(head, mime, executable):
    sniffed = sniff(head)

    assert (sniffed.mime_type, sniffed.is_executable) == (mime, executable)


def test_safe_file_names():
    assert safe_file_name("C:\\Users\\afi\\scan.jpeg", mime="image/jpeg") == "scan.jpg"
    assert safe_file_name("", mime="application/pdf") == "document.pdf"
    assert safe_file_name("...", mime="application/octet-stream") == "document"


def test_the_number_of_documents_is_bounded(api, service_a, citizen, tokens, monkeypatch):
    monkeypatch.setattr("apps.applications.services.attachments.MAX_ATTACHMENTS_PER_APPLICATION", 2)
    application = draft("agence_a", citizen)  # one document already
    client = api(HOST_A, tokens(citizen).access)

    second = client.post(
        url(application), {"document_type": DOC, "file": upload()}, format="multipart"
    )
    third = client.post(
        url(application), {"document_type": DOC, "file": upload()}, format="multipart"
    )

    assert second.status_code == 201
    assert_problem(third, 409, "too_many_attachments")
