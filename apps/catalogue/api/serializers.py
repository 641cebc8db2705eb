"""Output serializers of the public catalogue of an agency."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalogue.models import Service
from apps.catalogue.validation import DOCUMENT_TYPE_KEYS
from apps.core.language import in_english
from apps.core.rendering import datetime_text


class DocumentTypeOutputSerializer(serializers.Serializer):
    """A document to attach to an application for this service."""

    code = serializers.CharField(
        help_text=_("Code of the document, to give as `document_type` when uploading it.")
    )
    label = serializers.CharField(  # type: ignore[assignment]
        help_text=_("In the language of the request.")
    )
    label_fr = serializers.CharField(help_text=_("Label in French."))
    label_en = serializers.CharField(help_text=_("Label in English."))
    mime_types = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Accepted types, as sniffed from the content (e.g. `application/pdf`)."),
    )
    max_bytes = serializers.IntegerField(help_text=_("Largest accepted file, in bytes."))
    required = serializers.BooleanField(  # type: ignore[assignment]
        help_text=_("True when the application cannot be submitted without it.")
    )


class ServiceSummaryOutputSerializer(serializers.ModelSerializer[Service]):
    """A published service as listed (no form: fetch the detail for it)."""

    name = serializers.CharField(read_only=True, help_text=_("In the language of the request."))
    description = serializers.CharField(
        read_only=True, help_text=_("In the language of the request.")
    )

    class Meta:
        model = Service
        fields: tuple[str, ...] = (
            "id",
            "code",
            "name",
            "name_fr",
            "name_en",
            "description",
            "description_fr",
            "description_en",
            "category",
            "fee_xof",
            "sla_working_days",
            "updated_at",
        )
        extra_kwargs = {
            "id": {"help_text": _("The service's identifier.")},
            "code": {"help_text": _("Code of the service in its agency (e.g. `acte-naissance`).")},
            "name_fr": {"help_text": _("Name in French.")},
            "name_en": {"help_text": _("Name in English.")},
            "description_fr": {"help_text": _("Description in French.")},
            "description_en": {"help_text": _("Description in English.")},
            "category": {"help_text": _("Category, for grouping and search.")},
            "fee_xof": {"help_text": _("Fee in CFA francs (XOF); 0 when free.")},
            "sla_working_days": {
                "help_text": _("Working days the agency commits to decide in, from submission.")
            },
            "updated_at": {"help_text": _("When the service last changed.")},
        }


# The list is rendered from values() rows (apps.core.rendering): the same JSON as
# ServiceSummaryOutputSerializer, which stays the documented contract; a test compares them.
SERVICE_SUMMARY_COLUMNS = tuple(
    field
    for field in ServiceSummaryOutputSerializer.Meta.fields
    if field not in ("name", "description")  # chosen from the _fr / _en columns per language
)


def service_summary_items(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``SERVICE_SUMMARY_COLUMNS`` as ``ServiceSummaryOutputSerializer`` renders them."""
    zone = timezone.get_current_timezone()
    english = in_english()
    return [
        {
            "id": row["id"],
            "code": row["code"],
            "name": row["name_en"] if english else row["name_fr"],
            "name_fr": row["name_fr"],
            "name_en": row["name_en"],
            "description": row["description_en"] if english else row["description_fr"],
            "description_fr": row["description_fr"],
            "description_en": row["description_en"],
            "category": row["category"],
            "fee_xof": row["fee_xof"],
            "sla_working_days": row["sla_working_days"],
            "updated_at": datetime_text(row["updated_at"], zone),
        }
        for row in rows
    ]


class ServiceDetailOutputSerializer(ServiceSummaryOutputSerializer):
    """A published service with its form (JSON Schema 2020-12) and documents to attach."""

    document_types = serializers.SerializerMethodField(
        help_text=_("Documents to attach to an application.")
    )
    form_schema = serializers.JSONField(
        read_only=True,
        help_text=_("JSON Schema (2020-12) that the answers (`form_data`) must satisfy."),
    )

    class Meta(ServiceSummaryOutputSerializer.Meta):
        fields = (*ServiceSummaryOutputSerializer.Meta.fields, "form_schema", "document_types")

    @extend_schema_field(DocumentTypeOutputSerializer(many=True))
    def get_document_types(self, service: Service) -> list[dict[str, Any]]:
        english = in_english()
        documents = []
        for item in service.document_types:
            document = {key: item[key] for key in sorted(DOCUMENT_TYPE_KEYS)}
            document["label"] = item["label_en"] if english else item["label_fr"]
            documents.append(document)
        return documents
