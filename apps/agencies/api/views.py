"""Platform administrators' agency API (public host only)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import IsPlatformAdmin
from apps.agencies import selectors, services
from apps.agencies.api.serializers import AgencyCreateInputSerializer, AgencyOutputSerializer
from apps.agencies.models import Agency
from apps.core.errors import NotFoundError
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.pagination import PageNumberPagination


def _agency_or_404(slug: str) -> Agency:
    agency = selectors.agency_get(slug=slug)
    if agency is None:
        raise NotFoundError(code="agency_not_found")
    return agency


class PlatformAgencyViewSet(viewsets.ViewSet):
    """List, create, deactivate and reactivate agencies."""

    permission_classes = (IsPlatformAdmin,)
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="platform_agencies_list",
        summary=_("List agencies"),
        responses={200: AgencyOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["platform"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.agency_list(), request, view=self)
        return paginator.get_paginated_response(AgencyOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="platform_agencies_retrieve",
        summary=_("One agency"),
        responses={200: AgencyOutputSerializer, 404: problem(_("No such agency."))},
        tags=["platform"],
    )
    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(AgencyOutputSerializer(_agency_or_404(slug)).data)

    @extend_schema(
        operation_id="platform_agencies_create",
        summary=_("Create an agency (cloned from the template schema)"),
        request=AgencyCreateInputSerializer,
        responses={
            201: AgencyOutputSerializer,
            409: problem(_("The slug or the host name is taken.")),
            **PROBLEM_RESPONSES,
        },
        tags=["platform"],
    )
    def create(self, request: Request) -> Response:
        data = AgencyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agency = services.agency_create(**data.validated_data)
        body = AgencyOutputSerializer(_agency_or_404(agency.slug)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="platform_agencies_deactivate",
        summary=_("Deactivate an agency: its hosts answer 404 and its console closes"),
        request=None,
        responses={200: AgencyOutputSerializer, 404: problem(_("No such agency."))},
        tags=["platform"],
    )
    def deactivate(self, request: Request, slug: str) -> Response:
        agency = services.agency_set_active(agency=_agency_or_404(slug), is_active=False)
        return Response(AgencyOutputSerializer(_agency_or_404(agency.slug)).data)

    @extend_schema(
        operation_id="platform_agencies_activate",
        summary=_("Reactivate an agency"),
        request=None,
        responses={
            200: AgencyOutputSerializer,
            404: problem(_("No such agency.")),
        },
        tags=["platform"],
    )
    def activate(self, request: Request, slug: str) -> Response:
        agency = services.agency_set_active(agency=_agency_or_404(slug), is_active=True)
        return Response(AgencyOutputSerializer(_agency_or_404(agency.slug)).data)
