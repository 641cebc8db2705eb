"""Error codes of the applications app (stable API: never rename one)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.core.errors import (
    ApplicationError,
    ConflictError,
    InvalidInput,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
)


class ApplicationNotFound(NotFoundError):
    """No such application for this caller in this agency (also another citizen's, 404)."""

    code = "application_not_found"
    default_detail = _("No such application.")


class AttachmentNotFound(NotFoundError):
    """No such attachment on this application."""

    code = "attachment_not_found"
    default_detail = _("No such attachment.")


class ServiceUnknown(InvalidInput):
    """The service code names no published service of this agency."""

    code = "service_unknown"
    default_detail = _("No published service has this code in this agency.")


class FormDataInvalid(InvalidInput):
    """The answers do not satisfy the service's form (see ``errors``)."""

    code = "form_data_invalid"
    default_detail = _("Some answers are missing or not valid.")


class AttachmentsMissing(InvalidInput):
    """A required document is not attached yet (see ``errors``)."""

    code = "attachments_missing"
    default_detail = _("Some required documents are not attached.")


class DocumentTypeUnknown(InvalidInput):
    """The document type is not one the service asks for."""

    code = "document_type_unknown"
    default_detail = _("This service does not ask for this kind of document.")


class ReasonRequired(InvalidInput):
    """This transition needs a reason or a message."""

    code = "reason_required"
    default_detail = _("A reason is required.")


class AssigneeInvalid(InvalidInput):
    """The person to assign is not an active agent, supervisor or admin of this agency."""

    code = "assignee_invalid"
    default_detail = _("This person cannot be assigned applications in this agency.")


class TransitionForbidden(PermissionDeniedError):
    """The caller's role may not make this transition."""

    code = "transition_forbidden"
    default_detail = _("Your role does not allow this action on an application.")


class NotAssignee(PermissionDeniedError):
    """Agents act only on the applications assigned to them."""

    code = "not_assignee"
    default_detail = _("This application is assigned to someone else.")


class TransitionNotAllowed(ConflictError):
    """The action is not possible from the application's current status."""

    code = "transition_not_allowed"
    default_detail = _("This action is not possible in the application's current status.")


class AlreadyAssigned(ConflictError):
    """Someone else already holds this application (409)."""

    code = "already_assigned"
    default_detail = _("This application is already assigned to someone else.")


class ApplicationNotEditable(ConflictError):
    """Answers and documents can only change in a draft or while information is requested."""

    code = "application_not_editable"
    default_detail = _("This application can no longer be changed.")


class TooManyAttachments(ConflictError):
    """The application already holds as many documents as allowed (409)."""

    code = "too_many_attachments"
    default_detail = _("This application already has as many documents as allowed.")


class ServiceNotPublished(ConflictError):
    """The service was withdrawn from the catalogue after the draft was started."""

    code = "service_not_published"
    default_detail = _("This service no longer accepts applications.")


class PreconditionRequired(ApplicationError):
    """Staff actions must carry ``If-Match`` with the ETag they read (428)."""

    status = 428
    code = "precondition_required"
    default_detail = _(
        "This action needs an If-Match header with the ETag of the application you read."
    )


class ApplicationChanged(PreconditionFailedError):
    """``If-Match`` does not match the current version (412 ``precondition_failed``)."""

    code = "precondition_failed"
    default_detail = _(
        "The application was changed by someone else since you read it; reload it and try again."
    )


class AttachmentTypeRefused(ApplicationError):
    """The file's content is not a type accepted for this document (415)."""

    status = 415
    code = "attachment_type_refused"
    default_detail = _("This kind of file is not accepted for this document.")


class AttachmentTooLarge(ApplicationError):
    """The file is larger than the document type allows (413)."""

    status = 413
    code = "attachment_too_large"
    default_detail = _("The file is larger than allowed for this document.")


class AttachmentImageTooLarge(ApplicationError):
    """The image has more pixels than ``ATTACHMENT_IMAGE_MAX_PIXELS`` (422; a decompression bomb
    or a picture no viewer should have to open). ``max_pixels`` gives the limit."""

    status = 422
    code = "attachment_image_too_large"
    default_detail = _("The image has too many pixels; send a smaller picture or scan.")


class AttachmentInflatesTooMuch(ApplicationError):
    """The PDF's streams decode to far more data than the file holds (422; a PDF bomb)."""

    status = 422
    code = "attachment_inflates_too_much"
    default_detail = _("The PDF expands to too much data once opened; send a simpler file.")


class AttachmentActiveContent(ApplicationError):
    """The PDF holds JavaScript or actions that launch programs or load data (422)."""

    status = 422
    code = "attachment_active_content"
    default_detail = _(
        "The PDF holds scripts or automatic actions; send a plain PDF (print it to PDF again)."
    )


class AttachmentEncrypted(ApplicationError):
    """The PDF is encrypted or password-protected, so it cannot be checked (422)."""

    status = 422
    code = "attachment_encrypted"
    default_detail = _("The PDF is encrypted or protected by a password; send it unprotected.")


class AttachmentUnreadable(ApplicationError):
    """The file claims a type (by its content) but cannot be read as one (422)."""

    status = 422
    code = "attachment_unreadable"
    default_detail = _("The file is damaged or in a variant that cannot be checked.")
