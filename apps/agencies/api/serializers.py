"""Serializers of the platform administrators' agency API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.agencies.models import SLUG_RE, Agency
from apps.core.serializers import StrictInputSerializer


class AgencyCreateInputSerializer(StrictInputSerializer):
    """A new agency."""

    slug = serializers.RegexField(SLUG_RE, max_length=50)
    name_fr = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200)
    contact_email = serializers.EmailField(required=False, default="")
    contact_phone = serializers.CharField(max_length=20, required=False, default="")
    domain = serializers.RegexField(
        r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$",
        max_length=253,
        required=False,
    )


class AgencyOutputSerializer(serializers.ModelSerializer):
    """An agency as platform administrators see it."""

    domains = serializers.SerializerMethodField()

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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_domains(self, agency: Agency) -> list[str]:
        return [domain.domain for domain in agency.domains.all()]
