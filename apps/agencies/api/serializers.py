"""Serializers of the platform administrators' agency API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.agencies.models import SLUG_RE, Agency
from apps.core.serializers import StrictInputSerializer


class AgencyCreateInputSerializer(StrictInputSerializer):
    """A new agency."""

    slug = serializers.RegexField(
        SLUG_RE,
        max_length=50,
        help_text=_(
            "Short name in lowercase letters, digits and hyphens (e.g. `etat-civil`); it names "
            "the host `<slug>.<base domain>` and, with underscores, the database schema."
        ),
    )
    name_fr = serializers.CharField(max_length=200, help_text=_("Name in French."))
    name_en = serializers.CharField(max_length=200, help_text=_("Name in English."))
    contact_email = serializers.EmailField(
        required=False, default="", help_text=_("Public contact email address.")
    )
    contact_phone = serializers.CharField(
        max_length=20, required=False, default="", help_text=_("Public contact phone number.")
    )
    domain = serializers.RegexField(
        r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$",
        max_length=253,
        required=False,
        help_text=_("Host name of the agency; by default `<slug>.<base domain>`."),
    )


class AgencyOutputSerializer(serializers.ModelSerializer):
    """An agency as platform administrators see it."""

    domains = serializers.SerializerMethodField(
        help_text=_("Host names answered by this agency, the primary one first.")
    )

    class Meta:
        model = Agency
        fields = (
            "id",
            "slug",
            "schema_name",
            "name_fr",
            "name_en",
            "contact_email",
            "contact_phone",
            "is_active",
            "created_at",
            "deactivated_at",
            "domains",
        )
        extra_kwargs = {
            "id": {"help_text": _("The agency's identifier.")},
            "slug": {"help_text": _("Short name of the agency, as in its host name.")},
            "schema_name": {"help_text": _("PostgreSQL schema holding the agency's data.")},
            "name_fr": {"help_text": _("Name in French.")},
            "name_en": {"help_text": _("Name in English.")},
            "contact_email": {"help_text": _("Public contact email address.")},
            "contact_phone": {"help_text": _("Public contact phone number.")},
            "is_active": {"help_text": _("False once deactivated: its hosts answer 404.")},
            "created_at": {"help_text": _("When the agency was created.")},
            "deactivated_at": {"help_text": _("When it was deactivated; null while active.")},
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_domains(self, agency: Agency) -> list[str]:
        return [domain.domain for domain in agency.domains.all()]
