"""Documents attached to an application by its citizen."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import structlog
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.applications import attachments as files
from apps.applications.errors import (
    ApplicationNotEditable,
    AttachmentNotFound,
    AttachmentTooLarge,
    AttachmentTypeRefused,
    DocumentTypeUnknown,
    TooManyAttachments,
)
from apps.applications.inspection import inspect_upload
from apps.applications.models import Application, Attachment
from apps.applications.services.common import application_lock, check_if_match, entry_sync
from apps.applications.workflow import EDITABLE, Actor
from apps.audit.services import audit_record
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)

# Enough for any real file; bounds the storage one draft can take.
MAX_ATTACHMENTS_PER_APPLICATION = 20


def _check_upload(application: Application, *, document_type: str, upload: Any) -> str:
    """The sniffed MIME type of an acceptable upload; 400/413/415/422 otherwise (nothing
    stored)."""
    rules = application.service.document_type(document_type)
    if rules is None:
        raise DocumentTypeUnknown(
            errors={"document_type": [str(DocumentTypeUnknown.default_detail)]}
        )
    max_bytes = int(rules.get("max_bytes") or 0)
    if upload.size > max_bytes:
        raise AttachmentTooLarge(
            _("The file is %(size)d bytes; this document allows at most %(limit)d.")
            % {"size": upload.size, "limit": max_bytes},
            extra={"max_bytes": max_bytes},
        )
    sniffed = files.sniff(files.read_head(upload))
    accepted = [str(mime) for mime in rules.get("mime_types") or []]
    if sniffed.is_executable or sniffed.mime_type is None or sniffed.mime_type not in accepted:
        logger.info(
            "attachment_refused",
            detected=sniffed.mime_type,
            executable=sniffed.is_executable,
            document_type=document_type,
        )
        raise AttachmentTypeRefused(extra={"accepted_types": accepted})
    inspect_upload(upload, mime=sniffed.mime_type)  # 422 for what would harm a viewer
    return sniffed.mime_type


def attachment_add(
    *,
    application_id: UUID,
    citizen: User,
    document_type: str,
    upload: Any,
    if_match: str | None = None,
) -> Attachment:
    """Attach an uploaded file to the citizen's draft (or to an application awaiting information).

    The type is sniffed from the content and must be one the document type accepts, executables
    and scripts never; the size must fit its limit. The file is written under the agency's
    prefix, then the row, audit event and index in one transaction; if that fails the file is
    deleted again, so nothing is half-written.
    """
    stored_path = ""
    try:
        with transaction.atomic():
            application = application_lock(
                application_id=application_id, actor=citizen, role=Actor.CITIZEN
            )
            check_if_match(application, if_match)
            if application.status not in EDITABLE:
                raise ApplicationNotEditable()
            if application.attachments.count() >= MAX_ATTACHMENTS_PER_APPLICATION:
                raise TooManyAttachments()
            mime = _check_upload(application, document_type=document_type, upload=upload)
            attachment_id = uuid.uuid4()
            digest = files.sha256_of(upload)
            stored_path = files.store(
                path=files.storage_path(
                    schema=current_schema(),
                    application_id=application.id,
                    attachment_id=attachment_id,
                    mime=mime,
                ),
                upload=upload,
            )
            attachment = Attachment.objects.create(
                id=attachment_id,
                application=application,
                document_type=document_type,
                file_path=stored_path,
                original_name=files.safe_file_name(getattr(upload, "name", ""), mime=mime),
                mime_type=mime,
                size=upload.size,
                sha256=digest,
                uploaded_by=citizen,
            )
            application.version += 1
            application.updated_at = timezone.now()
            application.save(update_fields=["version", "updated_at"])
            audit_record(
                action="application.attachment_added",
                target_type="application",
                target_id=application.id,
                changes={
                    "attachment": {"old": None, "new": str(attachment.id)},
                    "document_type": {"old": None, "new": document_type},
                    "mime_type": {"old": None, "new": mime},
                    "size": {"old": None, "new": attachment.size},
                    "sha256": {"old": None, "new": digest},
                },
            )
            entry_sync(application)
    except BaseException:
        files.discard(stored_path)
        raise
    return attachment


def attachment_remove(
    *, application_id: UUID, attachment_id: UUID, citizen: User, if_match: str | None = None
) -> None:
    """Remove a document from the citizen's draft (or application awaiting information).

    The file is deleted once the removal is committed.
    """
    with transaction.atomic():
        application = application_lock(
            application_id=application_id, actor=citizen, role=Actor.CITIZEN
        )
        check_if_match(application, if_match)
        if application.status not in EDITABLE:
            raise ApplicationNotEditable()
        attachment = application.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise AttachmentNotFound()
        path = attachment.file_path
        attachment.delete()
        application.version += 1
        application.updated_at = timezone.now()
        application.save(update_fields=["version", "updated_at"])
        audit_record(
            action="application.attachment_removed",
            target_type="application",
            target_id=application.id,
            changes={
                "attachment": {"old": str(attachment_id), "new": None},
                "document_type": {"old": attachment.document_type, "new": None},
            },
        )
        entry_sync(application)
        transaction.on_commit(lambda: files.discard(path))
