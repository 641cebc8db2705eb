"""Issued certificates and the agency's document settings (agency schema).

A certificate is issued once per approved application by the document job: its printed
content is resolved from the service's document definition (the version is recorded) and the
application's answers, kept in ``content``, drawn as an A4 PDF (``apps.certificates.rendering``)
with a QR code carrying a compact payload signed with the agency's key, then signed inside the
PDF (PAdES, ``apps.certificates.pdfsign``), stored under the agency's own prefix and its
SHA-256 recorded (see ``apps.certificates.signing`` and docs/certificates.md).

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
    # The account that asked (and may download it); the person concerned is ``holder_name``.
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requester account"),
    )
    definition = models.ForeignKey(
        "catalogue.DocumentDefinition",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("document definition version"),
    )
    requester_name = models.CharField(_("requester name"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=5, default="fr")
    content = models.JSONField(_("printed content"), default=dict, blank=True)
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

    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"holder_name", "requester_name", "content"}
    )

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

    @property
    def display_code(self) -> str:
        """The verification code as printed: four groups of four (``7K3M-Q9XD-2HBT-PW4F``)."""
        from apps.certificates.codes import code_display

        return code_display(self.code)


class DocumentSettings(models.Model):
    """What every certificate of the agency prints besides the service's definition.

    One row per agency schema (``pk`` 1): the seal or logo (an image validated by Pillow,
    stored under the agency's prefix with a name derived from its SHA-256, so certificates
    issued with an earlier seal keep rendering with theirs), the signatory and the place of
    issue. Edited by the agency admin in the console.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seal_path = models.CharField(_("seal or logo"), max_length=255, blank=True)
    signatory_name = models.CharField(_("signatory name"), max_length=200, blank=True)
    signatory_title_fr = models.CharField(_("signatory title (French)"), max_length=200, blank=True)
    signatory_title_en = models.CharField(
        _("signatory title (English)"), max_length=200, blank=True
    )
    place_of_issue = models.CharField(_("place of issue"), max_length=100, default="Lomé")
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("document settings")
        verbose_name_plural = _("document settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="certificates_settings_one")]

    def __str__(self) -> str:
        return str(_("Document settings"))
