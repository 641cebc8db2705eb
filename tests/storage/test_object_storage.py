"""Documents and certificates on S3 object storage (moto's server on loopback), agency-prefixed.

The same API calls as on the filesystem: the object lands under ``<schema>/...`` in a private
bucket, nothing is written to ``MEDIA_ROOT``, downloads are streamed by the application after
its permission check, and an agency can never reach another agency's objects, not even with a
forged row pointing at them.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.applications.models import Attachment
from apps.certificates.models import Certificate
from apps.certificates.services import certificate_issue
from apps.core.storage import AgencyFileSystemStorage
from apps.core.storage_s3 import AgencyS3Storage
from tests.applications.conftest import DOC, PDF, draft, upload
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

PRIVATE_GRANTS = [{"Permission": "FULL_CONTROL"}]


def _upload(api, tokens, citizen, application, content=PDF):
    return api(HOST_A, tokens(citizen).access).post(
        f"/api/v1/applications/{application.id}/attachments/",
        {"document_type": DOC, "file": upload(content)},
        format="multipart",
    )


def _stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_upload_is_a_private_object_under_the_agency_prefix(
    api, tokens, citizen, service_a, s3_storage, media_root
):
    application = draft("agence_a", citizen, attach=False)

    response = _upload(api, tokens, citizen, application)

    assert response.status_code == 201, response.content
    attachment_id = response.json()["id"]
    key = f"agence_a/applications/{application.id}/{attachment_id}.pdf"
    assert s3_storage.keys() == [key]
    client = s3_storage.client()
    assert client.get_object(Bucket=s3_storage.bucket, Key=key)["Body"].read() == PDF
    grants = client.get_object_acl(Bucket=s3_storage.bucket, Key=key)["Grants"]
    assert [{"Permission": g["Permission"]} for g in grants] == PRIVATE_GRANTS  # owner only
    assert grants[0]["Grantee"]["Type"] == "CanonicalUser"
    assert _stored_files(media_root) == []  # nothing on this machine's disk
    assert isinstance(storages["default"], AgencyS3Storage)


def test_the_download_is_streamed_by_the_application_after_its_check(
    api, tokens, citizen, other_citizen, staff_of, agency_b, service_a, s3_storage
):
    application = draft("agence_a", citizen, attach=False)
    content = PDF + b"%" + bytes(range(256)) * 64
    attachment_id = _upload(api, tokens, citizen, application, content).json()["id"]
    path = f"/api/v1/applications/{application.id}/attachments/{attachment_id}/"

    response = api(HOST_A, tokens(citizen).access).get(path)

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(content))
    assert b"".join(response.streaming_content) == content
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # The permission check comes first: another citizen, or agency B's staff, get a 404.
    assert api(HOST_A, tokens(other_citizen).access).get(path).status_code == 404
    staff_b = staff_of(agency_b, Role.AGENT)
    staff_path = f"/api/v1/staff/applications/{application.id}/attachments/{attachment_id}/"
    answer = api(
        HOST_B, tokens(staff_b, TokenKind.STAFF, agency=agency_b, role=Role.AGENT).access
    ).get(staff_path)
    assert answer.status_code == 404


def test_a_failed_upload_leaves_no_object(api, tokens, citizen, service_a, s3_storage, monkeypatch):
    from apps.applications.services import attachments as service

    def broken_audit(**kwargs):
        raise RuntimeError("audit down")

    application = draft("agence_a", citizen, attach=False)
    monkeypatch.setattr(service, "audit_record", broken_audit)

    response = _upload(api, tokens, citizen, application)

    assert response.status_code == 500

    assert s3_storage.keys() == []


def test_a_forged_row_pointing_at_another_agency_is_refused(
    api, tokens, citizen, service_a, service_b, s3_storage
):
    """Agency B's row naming agency A's object: the storage refuses it, the API says 404."""
    in_a = draft("agence_a", citizen, attach=False)
    a_id = _upload(api, tokens, citizen, in_a).json()["id"]
    with schema_context("agence_a"):
        a_path = Attachment.objects.get(pk=a_id).file_path
    in_b = draft("agence_b", citizen, attach=False)
    with schema_context("agence_b"):
        forged = Attachment.objects.create(
            application_id=in_b.id,
            document_type=DOC,
            file_path=a_path,
            original_name="x.pdf",
            mime_type="application/pdf",
            size=len(PDF),
            sha256="0" * 64,
            uploaded_by=citizen,
        )

    response = api(HOST_B, tokens(citizen).access).get(
        f"/api/v1/applications/{in_b.id}/attachments/{forged.id}/"
    )

    assert_problem(response, 404, "attachment_not_found")
    with schema_context("agence_b"):
        storage = storages["default"]
        for operation in (storage.open, storage.exists, storage.delete, storage.size):
            with pytest.raises(SuspiciousFileOperation):
                operation(a_path)
        with pytest.raises(SuspiciousFileOperation):
            storage.save(a_path, ContentFile(b"overwrite"))
    assert (
        s3_storage.client().get_object(Bucket=s3_storage.bucket, Key=a_path)["Body"].read() == PDF
    )


def test_certificates_are_written_and_served_from_object_storage(
    api, tokens, citizen, approved, s3_storage
):
    with schema_context("agence_a"):
        certificate = certificate_issue(application_id=approved.pk)
    assert certificate is not None
    assert certificate.file_path.startswith("agence_a/certificates/")
    assert s3_storage.keys() == [certificate.file_path]

    response = api(HOST_A, tokens(citizen).access).get(
        f"/api/v1/certificates/{certificate.pk}/download/"
    )

    assert response.status_code == 200
    pdf = b"".join(response.streaming_content)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == certificate.sha256
    # Agency B's host never serves it (its id is unknown there).
    other = api(HOST_B, tokens(citizen).access).get(
        f"/api/v1/certificates/{certificate.pk}/download/"
    )
    assert other.status_code == 404
    with schema_context("agence_b"):
        assert not Certificate.objects.filter(pk=certificate.pk).exists()


@pytest.mark.parametrize("backend", ["filesystem", "s3"])
def test_names_outside_the_current_agency_are_refused(backend, s3, tmp_path, settings):
    if backend == "s3":
        from config.settings.base import default_storage

        options = default_storage(s3.bucket)["OPTIONS"] | {
            "endpoint_url": s3.endpoint_url,
            "access_key": "k",
            "secret_key": "s",
            "region_name": "us-east-1",
        }
        storage = AgencyS3Storage(**options)
    else:
        storage = AgencyFileSystemStorage(location=str(tmp_path))

    with schema_context("agence_a"):
        name = storage.save("agence_a/applications/x/doc.pdf", ContentFile(PDF))
        assert storage.exists(name)
        with storage.open(name) as handle:
            assert handle.read() == PDF
        for bad in ("agence_b/applications/x/doc.pdf", "doc.pdf", "agence_a/../agence_b/x.pdf"):
            with pytest.raises(SuspiciousFileOperation):
                storage.open(bad)
            with pytest.raises(SuspiciousFileOperation):
                storage.save(bad, ContentFile(b"x"))
    with schema_context("agence_b"), pytest.raises(SuspiciousFileOperation):
        storage.open(name)
    # The public schema (platform maintenance: backups) may reach every agency's files.
    with storage.open(name) as handle:
        assert handle.read() == PDF
    storage.delete(name)
    assert not storage.exists(name)


def test_the_settings_choose_the_filesystem_without_a_bucket():
    from config.settings.base import default_storage

    assert default_storage("") == {"BACKEND": "apps.core.storage.AgencyFileSystemStorage"}
    options = default_storage("b")["OPTIONS"]
    assert options["bucket_name"] == "b"
    assert options["default_acl"] is None  # private: the bucket's default


def test_an_object_missing_from_the_bucket_is_a_404_not_a_500(
    api, tokens, citizen, service_a, s3_storage
):
    application = draft("agence_a", citizen, attach=False)
    attachment_id = _upload(api, tokens, citizen, application).json()["id"]
    (key,) = s3_storage.keys()
    s3_storage.client().delete_object(Bucket=s3_storage.bucket, Key=key)

    response = api(HOST_A, tokens(citizen).access).get(
        f"/api/v1/applications/{application.id}/attachments/{attachment_id}/"
    )

    assert_problem(response, 404, "attachment_not_found")


def test_in_redirect_mode_the_download_is_a_short_lived_signed_url(
    api, tokens, citizen, other_citizen, service_a, s3_storage
):
    storages["default"].download_redirect = True  # STORAGE_S3_DOWNLOADS=redirect
    application = draft("agence_a", citizen, attach=False)
    attachment_id = _upload(api, tokens, citizen, application).json()["id"]
    path = f"/api/v1/applications/{application.id}/attachments/{attachment_id}/"

    response = api(HOST_A, tokens(citizen).access).get(path)

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{s3_storage.endpoint_url}/{s3_storage.bucket}/agence_a/")
    assert "X-Amz-Signature=" in location
    assert "X-Amz-Expires=60" in location
    assert "response-content-disposition=attachment" in location
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    with urllib.request.urlopen(location, timeout=10) as fetched:  # noqa: S310 - loopback
        assert fetched.read() == PDF
        assert fetched.headers["Content-Disposition"].startswith("attachment")
    # The permission check still comes first: nobody else gets a URL.
    assert api(HOST_A, tokens(other_citizen).access).get(path).status_code == 404
    unsigned = location.split("?", 1)[0]
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(unsigned, timeout=10)  # noqa: S310 - private object
