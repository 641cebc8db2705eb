"""The catalogue of an agency: its services and its public holidays (agency schema)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.catalogue.validation import (
    document_types_errors,
    form_schema_errors,
    validate_document_types,
    validate_form_schema,
)
from apps.core.language import in_english

MAX_SLA_WORKING_DAYS = 365


class Service(models.Model):
    """Something a citizen can ask the agency for: a form, documents, a fee and a deadline.

    ``form_schema`` is a JSON Schema (draft 2020-12) describing the answers; ``document_types``
    lists the documents to attach (``code``, ``label_fr``, ``label_en``, ``mime_types``,
    ``max_bytes``, ``required``). Both are checked every time the row is saved, whoever saves it
    (admin console, service function, seed), so a broken definition never reaches citizens.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(
        _("code"),
        max_length=64,
        unique=True,
        help_text=_("Stable identifier used in URLs, e.g. copie-acte-naissance."),
    )
    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description_fr = models.TextField(_("description (French)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    category = models.CharField(_("category"), max_length=64)
    form_schema = models.JSONField(
        _("form (JSON Schema)"),
        validators=[validate_form_schema],
        help_text=_(
            'JSON Schema draft 2020-12 of the answers: an object with "properties"; '
            "French titles for each field."
        ),
    )
    document_types = models.JSONField(
        _("document types"),
        default=list,
        blank=True,
        validators=[validate_document_types],
        help_text=_(
            'A list of {"code", "label_fr", "label_en", "mime_types", "max_bytes", "required"}.'
        ),
    )
    fee_xof = models.PositiveIntegerField(_("fee (XOF)"), default=0)
    sla_working_days = models.PositiveSmallIntegerField(
        _("deadline (working days)"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SLA_WORKING_DAYS)],
    )
    is_published = models.BooleanField(_("published"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ("category", "code")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sla_working_days__gte=1)
                & models.Q(sla_working_days__lte=MAX_SLA_WORKING_DAYS),
                name="catalogue_service_sla_range",
            ),
        ]
        indexes = [models.Index(fields=["is_published", "code"], name="catalogue_published_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse to store a form or document list that citizens could not use."""
        errors = self.definition_errors()
        if errors:
            raise ValidationError(errors)
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        """The name in the active language (French unless English is asked for)."""
        return self.name_en if in_english() else self.name_fr

    @property
    def description(self) -> str:
        """The description in the active language."""
        return self.description_en if in_english() else self.description_fr

    def document_type(self, code: str) -> dict[str, Any] | None:
        """The document type with this code, or None."""
        for item in self.document_types or []:
            if isinstance(item, dict) and item.get("code") == code:
                return item
        return None

    def definition_errors(self) -> dict[str, list[str]]:
        """Problems of the form and document definitions, by field (empty when usable)."""
        errors: dict[str, list[str]] = {}
        form_problems = form_schema_errors(self.form_schema)
        if form_problems:
            errors["form_schema"] = form_problems
        document_problems = document_types_errors(self.document_types)
        if document_problems:
            errors["document_types"] = document_problems
        return errors


class PublicHoliday(models.Model):
    """A day the agency does not count towards deadlines (each agency keeps its own list)."""

    date = models.DateField(_("date"), unique=True)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")
        ordering = ("date",)

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"

    @property
    def name(self) -> str:
        """The name in the active language."""
        return self.name_en if in_english() else self.name_fr


class DocumentDefinition(models.Model):
    """One version of what a service's certificate says (``apps.catalogue.documents``).

    Versions are never changed nor deleted: a certificate points at the version it was issued
    under and always renders with it. The newest version is the service's current one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        related_name="document_definitions",
        verbose_name=_("service"),
    )
    version = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("document definition"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.CharField(_("created by"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("document definition")
        verbose_name_plural = _("document definitions")
        ordering = ("service", "-version")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "version"], name="catalogue_docdef_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.code} v{self.version}"
