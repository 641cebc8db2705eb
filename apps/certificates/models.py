"""Issued certificates (agency schema).

A certificate is issued once per approved application by the document job: a PDF rendered
from ``templates/certificates/certificate.html``, stored under the agency's own prefix, its
SHA-256 recorded, and a compact payload signed with the agency's Ed25519 key printed on it as
a QR code (see ``apps.certificates.signing`` and docs/certificates.md).

The verification code is looked up by its SHA-256 (``code_hash``), never by the code itself,
so the database's index comparison cannot leak how much of a guessed code is right.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CertificateStatus(models.TextChoices):
    """Whether a certificate still stands."""

    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")


class Certificate(models.Model):
    """The signed document issued for one approved application."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.OneToOneField(
        "applications.Application",
        on_delete=models.PROTECT,
        related_name="certificate",
        verbose_name=_("application"),
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("holder"),
    )
    code = models.CharField(_("verification code"), max_length=32, unique=True)
    code_hash = models.CharField(_("code hash"), max_length=64, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=32)
    holder_name = models.CharField(_("holder name"), max_length=300)
    service_code = models.CharField(_("service"), max_length=64)
    service_name_fr = models.CharField(_("service name (French)"), max_length=200)
    service_name_en = models.CharField(_("service name (English)"), max_length=200)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    file_path = models.CharField(_("stored file"), max_length=255, unique=True)
    sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    content_sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)
    signed_payload = models.TextField(_("signed payload"))
    key_id = models.CharField(_("key id"), max_length=32)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CertificateStatus.choices,
        default=CertificateStatus.VALID,
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("revoked by"),
    )
    revocation_reason = models.TextField(_("reason of the revocation"), blank=True)

    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset({"holder_name"})

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ("-issued_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(status=CertificateStatus.VALID, revoked_at__isnull=True)
                | Q(status=CertificateStatus.REVOKED, revoked_at__isnull=False),
                name="certificates_revocation_consistent",
            ),
        ]
        indexes = [models.Index(fields=["citizen", "-issued_at"], name="certificates_citizen_idx")]

    def __str__(self) -> str:
        return f"{self.reference} ({self.code})"
