"""Error codes of the certificates app (stable API: never rename one)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.core.errors import ConflictError, InvalidInput, NotFoundError


class CertificateNotFound(NotFoundError):
    """No such certificate for this caller in this agency."""

    code = "certificate_not_found"
    default_detail = _("No such certificate.")


class CertificateUnknown(NotFoundError):
    """No certificate of this agency has this verification code."""

    code = "certificate_unknown"
    default_detail = _("No certificate of this agency has this verification code.")


class CertificateAlreadyRevoked(ConflictError):
    """The certificate was revoked already."""

    code = "certificate_already_revoked"
    default_detail = _("This certificate has already been revoked.")


class RevocationReasonRequired(InvalidInput):
    """A revocation needs its reason."""

    code = "revocation_reason_required"
    default_detail = _("Give the reason of the revocation.")
