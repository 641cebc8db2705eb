"""Agencies and domains (public schema)."""

from __future__ import annotations

import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

SLUG_RE = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"
slug_validator = RegexValidator(
    SLUG_RE, _("Use lowercase letters, digits and single hyphens, starting with a letter.")
)


def schema_name_for_slug(slug: str) -> str:
    """PostgreSQL schema of the agency with this slug (hyphens become underscores)."""
    return slug.replace("-", "_")


class Agency(TenantMixin):
    """A ministry, office or municipality: one tenant, one PostgreSQL schema.

    The public schema has a row too (slug ``public``) so django-tenants can resolve it; it is
    never listed as an agency.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(_("slug"), max_length=50, unique=True, validators=[slug_validator])
    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)

    auto_create_schema = True

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ("slug",)

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language (French unless English is asked for)."""
        return self.name_en if (get_language() or "fr").startswith("en") else self.name_fr


class Domain(DomainMixin):
    """A host name that resolves to an agency (``etat-civil.localhost`` in development)."""

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
