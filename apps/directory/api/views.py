"""The public host's directory: active agencies and the cross-agency catalogue search.

Both read public-schema tables only (one query per page plus the agencies' domains),
whatever the number of agencies: no request ever visits the agency schemas.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.agencies.selectors import agency_list
from apps.core.openapi import problem
from apps.core.pagination import PageNumberPagination
from apps.directory.api.serializers import (
    CatalogueEntryOutputSerializer,
    CatalogueSearchQuerySerializer,
    PublicAgencyOutputSerializer,
)
from apps.directory.selectors import service_entry_search


class PublicAgencyViewSet(viewsets.ViewSet):
    """Agencies open to citizens."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="agencies_list",
        summary=_("List the active agencies and their hosts"),
        responses={200: PublicAgencyOutputSerializer(many=True)},
        auth=[],
        tags=["catalogue"],
    )
    def list(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(agency_list(include_inactive=False), request, view=self)
        return paginator.get_paginated_response(PublicAgencyOutputSerializer(page, many=True).data)


class CatalogueViewSet(viewsets.ViewSet):
    """Search published services across every active agency."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="catalogue_search",
        summary=_("Search published services of every active agency"),
        parameters=[CatalogueSearchQuerySerializer],
        responses={
            200: CatalogueEntryOutputSerializer(many=True),
            400: problem(_("A query parameter is not valid.")),
        },
        auth=[],
        tags=["catalogue"],
    )
    def list(self, request: Request) -> Response:
        query = CatalogueSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = service_entry_search(
            q=query.validated_data.get("q", ""),
            agency_slug=query.validated_data.get("agency"),
            category=query.validated_data.get("category"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(entries, request, view=self)
        body = CatalogueEntryOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(body)
