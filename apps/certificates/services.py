"""Issuing, revoking and verifying certificates.

* ``certificate_job_enqueue``: on approval, queue the document job (outbox, once per
  application) in the approval's transaction.
* ``certificate_issue``: what the job does: render the PDF with its QR code, store it under
  the agency's prefix, hash it, sign the compact payload, record the certificate, audit it,
  and queue the citizen's notification and the ``certificate.issued`` webhook event, all in
  one transaction. Safe to run twice: an application gets one certificate.
* ``certificate_revoke``: the agency withdraws a certificate (audited, webhook event).
* ``certificate_verify_qr``: the verdict on a QR text (signature, then the agency's record).
* ``certificate_orphans_sweep``: delete files that no certificate names (left by a job killed
  between writing the file and committing its row, and never retried), audited.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.services import audit_record
from apps.catalogue.services import document_definition_for_issue
from apps.certificates.codes import code_digest, code_new
from apps.certificates.errors import (
    CertificateAlreadyRevoked,
    CertificateNotFound,
    RevocationReasonRequired,
)
from apps.certificates.models import Certificate, CertificateStatus
from apps.certificates.pdfsign import sign_pdf
from apps.certificates.preview import document_content
from apps.certificates.rendering import render_certificate_pdf
from apps.certificates.selectors import (
    agency_base_url,
    agency_current,
    certificate_get_by_code,
    document_settings,
)
from apps.certificates.signing import (
    PAYLOAD_VERSION,
    canonical_json,
    sign_payload,
    signing_key,
    token_from_qr,
    verify_agency_token,
)
from apps.certificates.verification import (
    verification_record,
    verification_refresh_on_commit,
)
from apps.core.storage import storage_errors
from apps.core.tenancy import current_schema
from apps.notifications.rendering import Template, language_of
from apps.notifications.services import notification_enqueue
from apps.outbox.models import Kind
from apps.outbox.services import outbox_enqueue
from apps.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)

JOB_ISSUE = "certificate.issue"
CERTIFICATES_FOLDER = "certificates"
MAX_REASON_CHARS = 2000


def certificate_job_enqueue(*, application_id: UUID) -> None:
    """Queue the issuing of the application's certificate (once per application)."""
    outbox_enqueue(
        kind=Kind.DOCUMENT,
        payload={"job": JOB_ISSUE, "application_id": str(application_id)},
        dedupe_key=f"{JOB_ISSUE}:{application_id}",
    )


def certificate_file_name(schema: str, application_id: UUID) -> str:
    """Where the PDF of an application's certificate is stored (one name per application)."""
    return f"{schema}/{CERTIFICATES_FOLDER}/{application_id}.pdf"


def _holder_name(citizen: User) -> str:
    return citizen.get_full_name() or citizen.email or citizen.phone or str(citizen.pk)


def _was_approved(application: Any) -> bool:
    if application.status == "approved":
        return True
    return bool(
        application.status == "closed"
        and application.decided_at is not None
        and application.history.filter(action="approve").exists()
    )


@transaction.atomic
def certificate_issue(*, application_id: UUID) -> Certificate | None:
    """Issue the certificate of an approved application of the current agency.

    Returns the certificate (the existing one when it was issued already), or None when the
    application does not exist or was not approved (nothing to issue).
    """
    from apps.applications.models import Application

    existing = Certificate.objects.filter(application_id=application_id).first()
    if existing is not None:
        return existing
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("service", "citizen")
        .filter(pk=application_id)
        .first()
    )
    # Again under the application's lock: a job that waited for it finds the certificate the
    # other one committed (and must not touch that certificate's file below).
    existing = Certificate.objects.filter(application_id=application_id).first()
    if existing is not None:
        return existing
    if application is None or not _was_approved(application):
        logger.info("certificate_not_issued", found=application is not None)
        return None
    agency = agency_current()
    assert agency is not None, "certificates are issued in an agency schema"
    schema = current_schema()
    citizen = application.citizen
    service = application.service
    now = timezone.now()
    code = code_new()
    reference = application.reference or ""
    language = language_of(citizen.preferred_language)
    definition = document_definition_for_issue(service=service)
    key = signing_key(schema)
    content = document_content(
        agency=agency,
        service=service,
        definition=definition.definition,
        definition_version=definition.version,
        answers=application.form_data,
        account_name=_holder_name(citizen),
        language=language,
        settings_row=document_settings(),
        reference=reference,
        code=code,
        issued_at=now,
        issued_on=timezone.localdate(now).isoformat(),
        base_url=agency_base_url(schema),
        decided_at=application.decided_at.isoformat() if application.decided_at else "",
    )
    holder = content["holder"]
    requester = content["requester"]
    content_sha256 = hashlib.sha256(canonical_json(content)).hexdigest()
    certificate = Certificate(
        application=application,
        citizen=citizen,
        definition=definition,
        code=code,
        code_hash=code_digest(code),
        reference=reference,
        holder_name=holder,
        requester_name=requester,
        language=language,
        content=content,
        service_code=service.code,
        service_name_fr=service.name_fr,
        service_name_en=service.name_en,
        issued_at=now,
        content_sha256=content_sha256,
    )
    pdf = _produce(certificate, schema=schema, key=key)
    storage = storages["default"]
    # One name per application: a job interrupted between writing the file and committing its
    # row (a killed worker) left a file here that no row names; the retry replaces it rather
    # than leaving an orphan (the sweep handles jobs that are never retried). Whole or nothing
    # (AtomicFileSystemStorage); a full or unwritable store raises StorageFullError /
    # StorageUnavailableError and the outbox retries the job later.
    name = certificate_file_name(schema, application.pk)
    with storage_errors():
        if storage.exists(name):
            storage.delete(name)
            logger.warning("certificate_orphan_replaced")
        certificate.file_path = storage.save(name, ContentFile(pdf))
    try:
        with transaction.atomic():
            certificate.save(force_insert=True)
            audit_record(
                action="certificate.issued",
                target_type="certificate",
                target_id=certificate.pk,
                changes={
                    "application_id": {"old": None, "new": str(application.pk)},
                    "reference": {"old": None, "new": reference},
                    "sha256": {"old": None, "new": certificate.sha256},
                    "key_id": {"old": None, "new": certificate.key_id},
                    "definition_version": {"old": None, "new": definition.version},
                },
            )
            notification_enqueue(
                recipient_id=citizen.pk,
                template=Template.CERTIFICATE_ISSUED,
                application_id=application.pk,
                certificate_id=certificate.pk,
            )
            webhook_event_emit(
                event="certificate.issued",
                data={
                    "certificate_id": str(certificate.pk),
                    "application_id": str(application.pk),
                    "reference": reference,
                    "code": code,
                },
            )
    except Exception:
        _discard(storage, certificate.file_path)  # no orphan file for a certificate not recorded
        raise
    verification_refresh_on_commit(certificate)
    logger.info("certificate_issued", pdf_bytes=len(pdf))
    return certificate


def _qr_payload(certificate: Certificate, kid: str) -> dict[str, Any]:
    content = certificate.content
    return {
        "v": PAYLOAD_VERSION,
        "a": content["agency"],
        "r": certificate.reference,
        "h": certificate.holder_name,
        "d": content["issued_on"],
        "s": certificate.content_sha256,
        "c": certificate.code,
        "k": kid,
    }


def _produce(certificate: Certificate, *, schema: str, key: Any) -> bytes:
    """Sign the QR payload, draw the PDF and sign it inside (PAdES) with ``key``.

    Sets ``signed_payload``, ``key_id`` and ``sha256`` on ``certificate``; returns the PDF.
    """
    content = certificate.content
    token = sign_payload(key=key, payload=_qr_payload(certificate, key.kid))
    certificate.signed_payload = token
    certificate.key_id = key.kid
    seal = seal_bytes(content.get("seal") or "")
    pdf = render_certificate_pdf(
        content={**content, "kid": key.kid}, qr_text=f"{content['verify_url']}#{token}", seal=seal
    )
    signed = sign_pdf(
        pdf,
        key=key,
        reason=f"{content['title']} {content['number']}",
        location=content.get("place", ""),
        signer_name=content["agency_name"],
    )
    certificate.sha256 = hashlib.sha256(signed).hexdigest()
    return signed


def seal_bytes(path: str) -> bytes | None:
    """The stored seal image at ``path`` (None when there is none or it cannot be read)."""
    if not path:
        return None
    storage = storages["default"]
    try:
        with storage.open(path, "rb") as handle:
            data: bytes = handle.read()
    except (FileNotFoundError, OSError):
        logger.warning("certificate_seal_missing")
        return None
    return data


def _discard(storage: Any, name: str) -> None:
    """Delete a file written for a certificate that was not recorded (best effort: the error
    being raised must not be masked by a store that cannot delete either)."""
    try:
        storage.delete(name)
    except Exception as exc:
        logger.warning("certificate_file_discard_failed", exc_type=type(exc).__name__)


@transaction.atomic
def certificate_revoke(*, certificate_id: UUID, actor: User, reason: str) -> Certificate:
    """Revoke a certificate of the current agency (audited, ``certificate.revoked`` event)."""
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON_CHARS:
        raise RevocationReasonRequired(
            errors={"reason": [str(RevocationReasonRequired.default_detail)]}
        )
    certificate = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
    if certificate is None:
        raise CertificateNotFound()
    if certificate.status == CertificateStatus.REVOKED:
        raise CertificateAlreadyRevoked()
    now = timezone.now()
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = now
    certificate.revoked_by = actor
    certificate.revocation_reason = text
    certificate.save(update_fields=["status", "revoked_at", "revoked_by", "revocation_reason"])
    audit_record(
        action="certificate.revoked",
        target_type="certificate",
        target_id=certificate.pk,
        changes={
            "status": {"old": CertificateStatus.VALID, "new": CertificateStatus.REVOKED},
            "revoked_at": {"old": None, "new": now.isoformat()},
            "revocation_reason": {"old": "[redacted]", "new": "[redacted]"},
        },
    )
    verification_refresh_on_commit(certificate)
    webhook_event_emit(
        event="certificate.revoked",
        data={
            "certificate_id": str(certificate.pk),
            "application_id": str(certificate.application_id),
            "reference": certificate.reference,
            "code": certificate.code,
        },
    )
    return certificate


class Verdict:
    """Answers of a verification."""

    VALID = "valid"
    REVOKED = "revoked"
    INVALID = "invalid"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class QRVerification:
    """The verdict on a QR text, with the certificate's record when the agency knows it."""

    status: str
    payload: dict[str, Any] | None = None
    record: dict[str, Any] | None = None


def certificate_verify_qr(*, qr_text: str) -> QRVerification:
    """Check a QR text against the current agency's key, then against its records.

    ``invalid``: the signature does not hold (tampered, another agency's, not ours), or the
    signed fields disagree with the record. ``unknown``: well signed but no such certificate
    (e.g. issued from a restored backup). Otherwise ``valid`` or ``revoked``.
    """
    payload = verify_agency_token(token_from_qr(qr_text), current_schema())
    if payload is None:
        return QRVerification(Verdict.INVALID)
    certificate = certificate_get_by_code(code=str(payload.get("c", "")))
    if certificate is None:
        return QRVerification(Verdict.UNKNOWN, payload=payload)
    if certificate.signed_payload.split(".")[0] != token_from_qr(qr_text).split(".")[0]:
        return QRVerification(Verdict.INVALID, payload=payload)
    status = Verdict.REVOKED if certificate.status == CertificateStatus.REVOKED else Verdict.VALID
    return QRVerification(status, payload=payload, record=verification_record(certificate))


def certificate_orphans_sweep(
    *, older_than: timedelta, dry_run: bool = False, now: datetime | None = None
) -> list[str]:
    """Delete the current agency's certificate files that no certificate names (audited).

    Such a file is left by a document job interrupted between writing it and committing its
    row, and never retried. Files younger than ``older_than`` are left alone: their job may
    still be committing. Returns the names deleted (or that would be, with ``dry_run``).
    """
    storage = storages["default"]
    folder = f"{current_schema()}/{CERTIFICATES_FOLDER}"
    cutoff = (now or timezone.now()) - older_than
    names = _files_under(storage, folder)
    known = set(Certificate.objects.filter(file_path__in=names).values_list("file_path", flat=True))
    orphans = [
        name for name in names if name not in known and storage.get_modified_time(name) < cutoff
    ]
    if dry_run:
        return orphans
    for name in orphans:
        with transaction.atomic():
            storage.delete(name)
            audit_record(
                action="certificate.orphan_deleted",
                target_type="file",
                target_id=name,
                changes={"file": {"old": name, "new": None}},
            )
    if orphans:
        logger.warning("certificate_orphans_deleted", count=len(orphans))
    return orphans


def _files_under(storage: Any, folder: str) -> list[str]:
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for directory in directories:
        names += _files_under(storage, f"{folder}/{directory}")
    return names


def certificate_resign(*, certificate_id: UUID) -> Certificate:
    """Sign a certificate again with the agency's active key (after a key compromise).

    The same content (same code, same data, same content hash) is drawn again, its QR payload
    and PDF signed with the active key, and the stored file replaced; ``key_id``,
    ``signed_payload`` and ``sha256`` change. Audited (``certificate.resigned``). The
    citizen's copy signed by the revoked key stops verifying offline; online verification by
    code is unchanged.
    """
    schema = current_schema()
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
        if certificate is None:
            raise CertificateNotFound()
        if not certificate.content:
            raise CertificateNotFound()  # pre-definition certificates keep their file
        old_kid, old_sha = certificate.key_id, certificate.sha256
        pdf = _produce(certificate, schema=schema, key=signing_key(schema))
        storage = storages["default"]
        with storage_errors():
            storage.delete(certificate.file_path)
            saved = storage.save(certificate.file_path, ContentFile(pdf))
        if saved != certificate.file_path:  # pragma: no cover - the name was just freed
            certificate.file_path = saved
        certificate.save(update_fields=["key_id", "signed_payload", "sha256", "file_path"])
        audit_record(
            action="certificate.resigned",
            target_type="certificate",
            target_id=certificate.pk,
            changes={
                "key_id": {"old": old_kid, "new": certificate.key_id},
                "sha256": {"old": old_sha, "new": certificate.sha256},
            },
        )
    verification_refresh_on_commit(certificate)
    return certificate
