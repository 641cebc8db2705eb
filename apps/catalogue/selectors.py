"""Reads of the catalogue (current agency schema)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from apps.catalogue.models import PublicHoliday, Service


def service_list_published() -> QuerySet[Service]:
    """Published services of the current agency, by category then code."""
    return Service.objects.filter(is_published=True).order_by("category", "code")


def service_get_published(*, code: str) -> Service | None:
    """The published service with this code, or None (unpublished ones are invisible)."""
    return service_list_published().filter(code=code).first()


def service_get(*, service_id: UUID) -> Service | None:
    """Any service of the current agency by id, published or not (staff and applications)."""
    return Service.objects.filter(pk=service_id).first()


def service_get_by_code(*, code: str) -> Service | None:
    """Any service of the current agency by code, published or not."""
    return Service.objects.filter(code=code).first()


def public_holiday_list(*, year: int | None = None) -> QuerySet[PublicHoliday]:
    """Holidays of the current agency, optionally of one year."""
    queryset = PublicHoliday.objects.order_by("date")
    if year is not None:
        queryset = queryset.filter(date__year=year)
    return queryset
