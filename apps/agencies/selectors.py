"""Reads of agencies."""

from __future__ import annotations

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from apps.agencies import hostcache
from apps.agencies.models import Agency, Domain


def agency_for_host(host: str) -> Agency | None:
    """The agency a host name belongs to, or None.

    Served from the per-process host cache when it is current (no query); otherwise one query.
    """
    generation = hostcache.current_generation()
    hit, cached = hostcache.cached_lookup(host, generation)
    if hit:
        return cached
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    agency: Agency | None = domain.tenant if domain is not None else None
    hostcache.remember(host, agency, generation)
    return agency


def agency_list(*, include_inactive: bool = True) -> QuerySet[Agency]:
    """Agencies (never the public schema's own row), with their domains."""
    queryset = Agency.objects.exclude(schema_name=get_public_schema_name()).prefetch_related(
        "domains"
    )
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    return queryset.order_by("slug")


def agency_get(*, slug: str) -> Agency | None:
    """The agency with this slug, or None."""
    return agency_list().filter(slug=slug).first()
