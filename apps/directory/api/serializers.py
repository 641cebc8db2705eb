"""Serializers of the public host's directory: agencies and the cross-agency catalogue."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.agencies.models import Agency
from apps.directory.models import ServiceEntry


def primary_host(agency: Agency) -> str:
    """The agency's primary host name (from prefetched domains: no query)."""
    domains = sorted(agency.domains.all(), key=lambda d: (not d.is_primary, d.domain))
    return domains[0].domain if domains else ""


class CatalogueSearchQuerySerializer(serializers.Serializer):
    """Query parameters of the catalogue search."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_('Words to find, accents and case ignored ("etat civil" finds "État civil").'),
    )
    agency = serializers.SlugField(required=False, help_text=_("Only this agency (its slug)."))
    category = serializers.CharField(
        required=False, max_length=64, help_text=_("Only services of this category.")
    )


class PublicAgencyOutputSerializer(serializers.ModelSerializer[Agency]):
    """An active agency as anyone may see it."""

    name = serializers.CharField(read_only=True, help_text=_("In the language of the request."))
    host = serializers.SerializerMethodField(
        help_text=_("Host name of the agency's API (e.g. `etat-civil.guichet.example`).")
    )

    class Meta:
        model = Agency
        fields = (
            "id",
            "slug",
            "name",
            "name_fr",
            "name_en",
            "contact_email",
            "contact_phone",
            "host",
        )
        extra_kwargs = {
            "id": {"help_text": _("The agency's identifier.")},
            "slug": {"help_text": _("Short name of the agency, as in its host name.")},
            "name_fr": {"help_text": _("Name in French.")},
            "name_en": {"help_text": _("Name in English.")},
            "contact_email": {"help_text": _("Public contact email address.")},
            "contact_phone": {"help_text": _("Public contact phone number.")},
        }

    @extend_schema_field(OpenApiTypes.STR)
    def get_host(self, agency: Agency) -> str:
        return primary_host(agency)


class CatalogueAgencyOutputSerializer(serializers.Serializer):
    """The agency offering a service (where to apply)."""

    slug = serializers.CharField(help_text=_("Short name of the agency, as in its host name."))
    name = serializers.CharField(help_text=_("In the language of the request."))
    host = serializers.CharField(help_text=_("Host name of the agency's API, where to apply."))


class CatalogueEntryOutputSerializer(serializers.ModelSerializer[ServiceEntry]):
    """A published service found by the cross-agency search."""

    id = serializers.UUIDField(
        source="service_id", read_only=True, help_text=_("The service's identifier.")
    )
    name = serializers.CharField(read_only=True, help_text=_("In the language of the request."))
    description = serializers.CharField(
        read_only=True, help_text=_("In the language of the request.")
    )
    agency = serializers.SerializerMethodField(help_text=_("The agency offering the service."))
    url = serializers.SerializerMethodField(help_text=_("The service on its agency's host."))

    class Meta:
        model = ServiceEntry
        fields = (
            "id",
            "code",
            "name",
            "name_fr",
            "name_en",
            "description",
            "category",
            "fee_xof",
            "sla_working_days",
            "agency",
            "url",
        )
        extra_kwargs = {
            "code": {"help_text": _("Code of the service in its agency (e.g. `acte-naissance`).")},
            "name_fr": {"help_text": _("Name in French.")},
            "name_en": {"help_text": _("Name in English.")},
            "category": {"help_text": _("Category, for grouping and search.")},
            "fee_xof": {"help_text": _("Fee in CFA francs (XOF); 0 when free.")},
            "sla_working_days": {
                "help_text": _("Working days the agency commits to decide in, from submission.")
            },
        }

    @extend_schema_field(CatalogueAgencyOutputSerializer)
    def get_agency(self, entry: ServiceEntry) -> dict[str, Any]:
        data: dict[str, Any] = CatalogueAgencyOutputSerializer(
            {
                "slug": entry.agency.slug,
                "name": entry.agency.name,
                "host": primary_host(entry.agency),
            }
        ).data
        return data

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, entry: ServiceEntry) -> str:
        request = self.context.get("request")
        scheme = request.scheme if request is not None else "https"
        host = primary_host(entry.agency)
        return f"{scheme}://{host}/api/v1/services/{entry.code}/" if host else ""
