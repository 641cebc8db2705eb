"""The public catalogue of an agency: published services, no authentication, cacheable."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.catalogue import selectors
from apps.catalogue.api.caching import conditional_response
from apps.catalogue.api.serializers import (
    SERVICE_SUMMARY_COLUMNS,
    ServiceDetailOutputSerializer,
    ServiceSummaryOutputSerializer,
    service_summary_items,
)
from apps.core.errors import NotFoundError
from apps.core.openapi import problem
from apps.core.pagination import PageNumberPagination

CACHE_HEADERS = [
    OpenApiParameter(
        "If-None-Match",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description=_("An ETag from an earlier answer: 304 without a body if nothing changed."),
    ),
    OpenApiParameter(
        "Accept-Language",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description=_("fr (default) or en: the language of `name`, `description` and labels."),
    ),
]
NOT_MODIFIED = OpenApiResponse(description=_("Not modified: the client's copy is current."))


class ServiceViewSet(viewsets.ViewSet):
    """Published services of the agency this host belongs to."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    pagination_class = PageNumberPagination
    lookup_field = "code"

    @extend_schema(
        operation_id="services_list",
        summary=_("List the agency's published services"),
        parameters=CACHE_HEADERS,
        responses={200: ServiceSummaryOutputSerializer(many=True), 304: NOT_MODIFIED},
        auth=[],
        tags=["catalogue"],
    )
    def list(self, request: Request) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_rows(
            selectors.service_list_published(), SERVICE_SUMMARY_COLUMNS, request, view=self
        )
        body = paginator.get_paginated_response(service_summary_items(rows)).data
        return conditional_response(request, body)

    @extend_schema(
        operation_id="services_retrieve",
        summary=_("One published service with its form and documents"),
        parameters=CACHE_HEADERS,
        responses={
            200: ServiceDetailOutputSerializer,
            304: NOT_MODIFIED,
            404: problem(_("No published service has this code.")),
        },
        auth=[],
        tags=["catalogue"],
    )
    def retrieve(self, request: Request, code: str) -> Response:
        service = selectors.service_get_published(code=code)
        if service is None:
            raise NotFoundError(code="service_not_found")
        return conditional_response(request, ServiceDetailOutputSerializer(service).data)
