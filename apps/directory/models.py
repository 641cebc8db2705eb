"""Public-schema indexes of agency data, kept in step by the services that change the data.

Reading "every agency's X" by visiting each schema costs one round trip per agency and grows
with the platform; these tables answer such reads in one query. They are copies: the agency
schema stays the source of truth, and each row is written in the same database transaction as
the change it mirrors.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.language import in_english


class ServiceEntry(models.Model):
    """One service of one agency, as the cross-agency catalogue search sees it.

    ``search_vector`` is computed from accent-free copies of the texts (see
    ``apps.directory.search``) and indexed with GIN.
    """

    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.CASCADE,
        related_name="service_entries",
        verbose_name=_("agency"),
    )
    service_id = models.UUIDField(_("service id"))
    code = models.CharField(_("code"), max_length=64)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description_fr = models.TextField(_("description (French)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    category = models.CharField(_("category"), max_length=64)
    fee_xof = models.PositiveIntegerField(_("fee (XOF)"), default=0)
    sla_working_days = models.PositiveSmallIntegerField(_("deadline (working days)"), default=0)
    is_published = models.BooleanField(_("published"), default=False)
    search_vector = SearchVectorField(_("search vector"), null=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("service entry")
        verbose_name_plural = _("service entries")
        ordering = ("name_fr",)
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "service_id"], name="directory_service_entry_unique"
            ),
            models.UniqueConstraint(
                fields=["agency", "code"], name="directory_service_entry_code_unique"
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="directory_service_search_idx"),
            models.Index(fields=["is_published", "name_fr"], name="directory_service_pub_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.agency_id})"

    @property
    def name(self) -> str:
        """The name in the active language."""
        return self.name_en if in_english() else self.name_fr

    @property
    def description(self) -> str:
        """The description in the active language."""
        return self.description_en if in_english() else self.description_fr


class ApplicationEntry(models.Model):
    """One application of one citizen in one agency: the citizen's cross-agency list.

    ``id`` is the application's own UUID in its agency schema, which also tells which agency
    holds an id (cross-agency probes are answered 404 and audited).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.CASCADE,
        related_name="application_entries",
        verbose_name=_("agency"),
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="application_entries",
        verbose_name=_("citizen"),
    )
    reference = models.CharField(_("reference"), max_length=32, blank=True)
    service_code = models.CharField(_("service code"), max_length=64)
    service_name_fr = models.CharField(_("service (French)"), max_length=200)
    service_name_en = models.CharField(_("service (English)"), max_length=200)
    status = models.CharField(_("status"), max_length=20)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("application entry")
        verbose_name_plural = _("application entries")
        ordering = ("-updated_at", "id")
        indexes = [
            models.Index(fields=["citizen", "-updated_at"], name="directory_app_citizen_idx"),
        ]

    def __str__(self) -> str:
        return self.reference or str(self.id)

    @property
    def service_name(self) -> str:
        """The service's name in the active language."""
        return self.service_name_en if in_english() else self.service_name_fr
