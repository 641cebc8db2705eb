"""Reads of the public-schema indexes (one query per list, whatever the number of agencies)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.postgres.search import SearchRank
from django.db.models import F, QuerySet

from apps.directory.models import ApplicationEntry, ServiceEntry
from apps.directory.search import build_search_query, search_terms


def application_entry_list_for_citizen(*, citizen_id: UUID) -> QuerySet[ApplicationEntry]:
    """A citizen's applications in every agency, most recently changed first."""
    return (
        ApplicationEntry.objects.filter(citizen_id=citizen_id)
        .select_related("agency")
        .order_by("-updated_at", "id")
    )


def service_entry_search(
    *, q: str = "", agency_slug: str | None = None, category: str | None = None
) -> QuerySet[ServiceEntry]:
    """Published services of active agencies matching ``q`` (best matches first).

    An empty ``q`` (or one without letters or digits) lists every published service, by name.
    See ``apps.directory.search`` for how matching works.
    """
    queryset = (
        ServiceEntry.objects.filter(is_published=True, agency__is_active=True)
        .select_related("agency")
        .prefetch_related("agency__domains")
    )
    if agency_slug:
        queryset = queryset.filter(agency__slug=agency_slug)
    if category:
        queryset = queryset.filter(category=category)
    terms = search_terms(q)
    if not terms:
        return queryset.order_by("name_fr", "agency__slug", "id")
    query = build_search_query(terms)
    return (
        queryset.filter(search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "name_fr", "agency__slug", "id")
    )
