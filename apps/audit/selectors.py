"""Reads of the audit trail: event lists, canonical records for export and verification."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from apps.audit.canonical import event_record
from apps.audit.chain import EVENT_VALUE_FIELDS
from apps.audit.models import AuditCheckpoint, AuditEvent

EXPORT_CHUNK = 2000


def audit_event_list() -> QuerySet[AuditEvent]:
    """The sealed events of the current schema, newest first (one query, no relations).

    Events not sealed yet (``sequence`` null, a second or so after their commit) are left out:
    they have no place in the chain to page by.
    """
    return AuditEvent.objects.filter(sequence__isnull=False).order_by("-sequence")


def audit_event_records(
    *, from_sequence: int = 1, to_sequence: int | None = None
) -> Iterator[dict[str, Any]]:
    """Canonical records (``apps.audit.canonical``) of the current schema, in chain order.

    Streams from a server-side cursor in chunks: memory stays constant whatever the range.
    """
    queryset = AuditEvent.objects.filter(sequence__gte=from_sequence)
    if to_sequence is not None:
        queryset = queryset.filter(sequence__lte=to_sequence)
    rows = queryset.order_by("sequence").values(*EVENT_VALUE_FIELDS)
    for values in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield event_record(values)


def audit_head_sequence() -> int:
    """The last sequence number of the current schema's chain (0 when it is empty)."""
    head = (
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    return int(head or 0)


def audit_checkpoint_latest(
    *, min_sequence: int | None = None, max_sequence: int | None = None
) -> AuditCheckpoint | None:
    """The latest checkpoint of the current schema, optionally within a sequence range."""
    queryset = AuditCheckpoint.objects.all()
    if min_sequence is not None:
        queryset = queryset.filter(sequence__gte=min_sequence)
    if max_sequence is not None:
        queryset = queryset.filter(sequence__lte=max_sequence)
    return queryset.order_by("-sequence", "-signed_at").first()


def audit_checkpoint_list() -> QuerySet[AuditCheckpoint]:
    """Every checkpoint of the current schema, oldest first."""
    return AuditCheckpoint.objects.order_by("sequence", "signed_at")


def audit_schemas(*, slugs: list[str] | None = None) -> list[str]:
    """The schemas holding an audit chain: public first, then every agency (active or not).

    With ``slugs``, only those agencies (``public`` names the platform trail); an unknown slug
    raises ``LookupError`` naming it.
    """
    from apps.agencies.selectors import agency_list

    public = get_public_schema_name()
    agencies = dict(agency_list().prefetch_related(None).values_list("slug", "schema_name"))
    if slugs is None:
        return [public, *sorted(agencies.values())]
    schemas: list[str] = []
    for slug in slugs:
        if slug == public:
            schema = public
        elif slug in agencies:
            schema = agencies[slug]
        else:
            raise LookupError(slug)
        if schema not in schemas:
            schemas.append(schema)
    return schemas
