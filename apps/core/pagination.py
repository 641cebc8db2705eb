"""Pagination used by every list endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, partial
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import CursorPagination as DRFCursorPagination
from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination
from rest_framework.request import Request


class _RowsPaginator(Paginator):
    """Pages of ``values()`` rows, counted on the queryset they come from.

    The count does not need the joins that the rows' columns bring (service, people, agency):
    counting the filtered queryset alone saves PostgreSQL most of its planning and join work.
    """

    def __init__(self, object_list: Any, per_page: int, *, counted: QuerySet[Any]) -> None:
        super().__init__(object_list, per_page)
        self._counted = counted

    @cached_property
    def count(self) -> int:
        return self._counted.count()


DRF_EXAMPLE_BASE = "http://api.example.org/accounts/"
EXAMPLE_BASE = "https://etat-civil.guichet.example/api/v1/applications/"
ENVELOPE_DESCRIPTIONS = {
    "count": _("Number of items in the whole list (every page)."),
    "next": _("Address of the next page; null on the last page."),
    "previous": _("Address of the previous page; null on the first page."),
    "results": _("The items of this page."),
}


def describe_envelope(schema: dict[str, Any], *, example_base: str) -> dict[str, Any]:
    """Describe the members of a pagination envelope's OpenAPI schema (in place)."""
    for name, prop in schema.get("properties", {}).items():
        if name in ENVELOPE_DESCRIPTIONS and "$ref" not in prop:
            prop["description"] = ENVELOPE_DESCRIPTIONS[name]
        if name in ("next", "previous") and "example" in prop:
            prop["example"] = str(prop["example"]).replace(
                "http://api.example.org/accounts/", example_base
            )
    return schema


class PageNumberPagination(DRFPageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 100)."""

    page_size_query_param = "page_size"
    page_size_query_description = _("Items per page (at most 100).")  # type: ignore[assignment]
    max_page_size = 100

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope = super().get_paginated_response_schema(schema)
        return describe_envelope(envelope, example_base=EXAMPLE_BASE)

    def paginate_rows(
        self, queryset: QuerySet[Any], columns: Sequence[str], request: Request, view: Any = None
    ) -> list[dict[str, Any]]:
        """A page of ``queryset`` as ``values(*columns)`` dictionaries (see apps.core.rendering).

        One query for the count (on ``queryset`` without the columns' joins), one for the page.
        """
        self.django_paginator_class = partial(_RowsPaginator, counted=queryset)  # type: ignore[assignment]
        return self.paginate_queryset(queryset.values(*columns), request, view) or []


class CursorPagination(DRFCursorPagination):
    """``?cursor=`` pagination with a described envelope (lists that grow while being read)."""

    page_size_query_param = "page_size"
    page_size_query_description = _("Items per page (at most 100).")  # type: ignore[assignment]
    max_page_size = 100

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope = super().get_paginated_response_schema(schema)
        return describe_envelope(envelope, example_base=EXAMPLE_BASE)
