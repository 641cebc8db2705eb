"""Writes of the public-schema indexes, called by the services that change the source rows.

Called inside the caller's transaction, on whatever schema the connection is on: the tables
exist only in the public schema, which django-tenants keeps on every agency's search path, so
the index row commits or rolls back together with the change it mirrors.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from django.utils import timezone

from apps.agencies.models import Agency
from apps.core.tenancy import tenant_connection
from apps.directory.models import ApplicationEntry, ServiceEntry
from apps.directory.search import build_search_vector

if TYPE_CHECKING:
    from apps.catalogue.models import Service


def _agency_id(schema: str) -> UUID:
    """The id of the agency of ``schema``: the request's own agency costs no query."""
    tenant = getattr(tenant_connection(), "tenant", None)
    if isinstance(tenant, Agency) and tenant.schema_name == schema and tenant.pk is not None:
        return tenant.pk
    agency_id: UUID = Agency.objects.values_list("pk", flat=True).get(schema_name=schema)
    return agency_id


def service_entry_sync(*, agency_schema: str, service: Service) -> None:
    """Create or refresh the index row of ``service`` (published or not) for its agency."""
    agency_id = _agency_id(agency_schema)
    # A row left by a service that no longer exists must not block its code (rare: only if a
    # service row was deleted without ``service_entry_remove``).
    ServiceEntry.objects.filter(agency_id=agency_id, code=service.code).exclude(
        service_id=service.id
    ).delete()
    fields = {
        "code": service.code,
        "name_fr": service.name_fr,
        "name_en": service.name_en,
        "description_fr": service.description_fr,
        "description_en": service.description_en,
        "category": service.category,
        "fee_xof": service.fee_xof,
        "sla_working_days": service.sla_working_days,
        "is_published": service.is_published,
        "updated_at": timezone.now(),
    }
    ServiceEntry.objects.bulk_create(
        [ServiceEntry(agency_id=agency_id, service_id=service.id, **fields)],
        update_conflicts=True,
        unique_fields=["agency", "service_id"],
        update_fields=list(fields),
    )
    ServiceEntry.objects.filter(agency_id=agency_id, service_id=service.id).update(
        search_vector=build_search_vector(
            code=service.code,
            name_fr=service.name_fr,
            name_en=service.name_en,
            category=service.category,
            description_fr=service.description_fr,
            description_en=service.description_en,
        )
    )


def service_entry_remove(*, agency_schema: str, service_id: UUID) -> None:
    """Drop the index row of a service (deleted, or no longer to be found)."""
    ServiceEntry.objects.filter(agency__schema_name=agency_schema, service_id=service_id).delete()


def application_entry_upsert(
    *,
    application_id: UUID,
    agency_schema: str,
    citizen_id: UUID,
    reference: str,
    service_code: str,
    service_name_fr: str,
    service_name_en: str,
    status: str,
    submitted_at: datetime | None,
    due_at: datetime | None,
    updated_at: datetime,
) -> None:
    """Create or refresh the citizen's index row of one application (one upsert, no race)."""
    fields = {
        "citizen_id": citizen_id,
        "reference": reference,
        "service_code": service_code,
        "service_name_fr": service_name_fr,
        "service_name_en": service_name_en,
        "status": status,
        "submitted_at": submitted_at,
        "due_at": due_at,
        "updated_at": updated_at,
    }
    ApplicationEntry.objects.bulk_create(
        [ApplicationEntry(id=application_id, agency_id=_agency_id(agency_schema), **fields)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=list(fields),
    )


def application_entry_agency_of(*, application_id: UUID) -> str | None:
    """Schema of the agency that holds this application id, or None if no agency does."""
    schema: str | None = (
        ApplicationEntry.objects.filter(pk=application_id)
        .values_list("agency__schema_name", flat=True)
        .first()
    )
    return schema
