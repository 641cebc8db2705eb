"""Pagination used by every list endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, partial
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
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


class PageNumberPagination(DRFPageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 100)."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_rows(
        self, queryset: QuerySet[Any], columns: Sequence[str], request: Request, view: Any = None
    ) -> list[dict[str, Any]]:
        """A page of ``queryset`` as ``values(*columns)`` dictionaries (see apps.core.rendering).

        One query for the count (on ``queryset`` without the columns' joins), one for the page.
        """
        self.django_paginator_class = partial(_RowsPaginator, counted=queryset)  # type: ignore[assignment]
        return self.paginate_queryset(queryset.values(*columns), request, view) or []
