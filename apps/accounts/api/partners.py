"""Staff API of an agency's partner clients: agency admins of this agency only.

Clients of other agencies do not exist here (404). The secret is in the answer of the create
and rotate calls only; it is stored hashed and never shown again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import partners
from apps.accounts.models import PartnerClient, PartnerScope, Role
from apps.accounts.permissions import staff_with_roles
from apps.core.openapi import PROBLEM_RESPONSES
from apps.core.pagination import PageNumberPagination
from apps.core.serializers import StrictInputSerializer

SCOPES_HELP = format_lazy(
    _("Scopes granted in this agency, among: {scopes}."), scopes=", ".join(PartnerScope.values)
)


class PartnerClientCreateInputSerializer(StrictInputSerializer):
    """A new partner client of this agency."""

    name = serializers.CharField(
        max_length=200, help_text=_("A name the agency recognises (e.g. the bank's name).")
    )
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=64), allow_empty=True, help_text=SCOPES_HELP
    )


class PartnerSecretRotateInputSerializer(StrictInputSerializer):
    """How long the current secret keeps working next to the new one."""

    overlap_seconds = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=settings.PARTNER_SECRET_MAX_OVERLAP_SECONDS,
        help_text=_("Default: PARTNER_SECRET_OVERLAP_SECONDS (one day). 0 ends it at once."),
    )


class PartnerClientOutputSerializer(serializers.ModelSerializer):
    """A partner client, never its secret."""

    scopes = serializers.SerializerMethodField()
    agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text=_("Slug of the agency it belongs to.")
    )

    class Meta:
        model = PartnerClient
        fields = (
            "id",
            "client_id",
            "name",
            "agency",
            "scopes",
            "is_active",
            "created_at",
            "revoked_at",
            "last_used_at",
        )
        extra_kwargs = {
            "id": {"help_text": _("The partner client's identifier (UUID).")},
            "client_id": {
                "help_text": _("The identifier the partner sends with its secret (`pc_…`).")
            },
            "name": {"help_text": _("A name the agency recognises.")},
            "is_active": {"help_text": _("False once the client is revoked.")},
            "created_at": {"help_text": _("When the client was created.")},
            "revoked_at": {"help_text": _("When it was revoked; null while it is active.")},
            "last_used_at": {
                "help_text": _("When one of its secrets last obtained a token; null if never.")
            },
        }

    def get_scopes(self, client: PartnerClient) -> list[str]:
        """The scopes of its grant in its agency."""
        for grant in client.grants.all():  # prefetched
            if grant.agency_id == client.agency_id:
                return list(grant.scopes)
        return []


class PartnerClientSecretOutputSerializer(PartnerClientOutputSerializer):
    """A partner client with its new secret: shown this once."""

    client_secret = serializers.CharField(
        help_text=_("Shown this once and stored hashed: store it now.")
    )
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text=_("Until when the previous secret keeps working; null if there is none."),
    )

    class Meta(PartnerClientOutputSerializer.Meta):
        fields = (  # type: ignore[assignment]
            *PartnerClientOutputSerializer.Meta.fields,
            "client_secret",
            "previous_secret_expires_at",
        )


def _with_secret(issued: partners.IssuedSecret) -> dict[str, Any]:
    client = partners.partner_client_get(client_uuid=issued.client.pk, agency=issued.client.agency)
    body = dict(PartnerClientOutputSerializer(client).data)
    body["client_secret"] = issued.secret
    expires = issued.previous_expires_at
    body["previous_secret_expires_at"] = (
        serializers.DateTimeField().to_representation(expires) if expires else None
    )
    return body  # documented by PartnerClientSecretOutputSerializer


class PartnerClientViewSet(viewsets.ViewSet):
    """Partner clients of this agency (agency admins)."""

    permission_classes = (staff_with_roles(Role.AGENCY_ADMIN),)
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="staff_partner_clients_list",
        summary=_("Partner clients of this agency"),
        responses={200: PartnerClientOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        clients = partners.partner_client_list(agency=request.tenant)  # type: ignore[attr-defined]
        page = paginator.paginate_queryset(clients, request, view=self)
        return paginator.get_paginated_response(PartnerClientOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="staff_partner_clients_create",
        summary=_("Create a partner client (its secret is shown once)"),
        request=PartnerClientCreateInputSerializer,
        responses={201: PartnerClientSecretOutputSerializer, **PROBLEM_RESPONSES},
        tags=["staff"],
        examples=[
            OpenApiExample(
                "A bank verifying certificates",
                value={"name": "Banque Atlantique", "scopes": ["certificates:verify"]},
                request_only=True,
            )
        ],
    )
    def create(self, request: Request) -> Response:
        data = PartnerClientCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client, secret = partners.partner_client_create(
            name=data.validated_data["name"],
            grants={request.tenant: data.validated_data["scopes"]},  # type: ignore[attr-defined]
        )
        body = _with_secret(partners.IssuedSecret(client=client, secret=secret))
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="staff_partner_clients_retrieve",
        summary=_("One partner client of this agency (with its last use)"),
        responses={200: PartnerClientOutputSerializer, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        client = partners.partner_client_get(client_uuid=pk, agency=request.tenant)  # type: ignore[attr-defined]
        return Response(PartnerClientOutputSerializer(client).data)

    @extend_schema(
        operation_id="staff_partner_clients_rotate_secret",
        summary=_("Rotate the secret (the current one works until the overlap ends)"),
        request=PartnerSecretRotateInputSerializer,
        responses={200: PartnerClientSecretOutputSerializer, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def rotate_secret(self, request: Request, pk: str) -> Response:
        data = PartnerSecretRotateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = partners.partner_client_get(client_uuid=pk, agency=request.tenant)  # type: ignore[attr-defined]
        seconds = data.validated_data.get("overlap_seconds")
        issued = partners.partner_secret_rotate(
            client=client, overlap=None if seconds is None else timedelta(seconds=seconds)
        )
        return Response(_with_secret(issued))

    @extend_schema(
        operation_id="staff_partner_clients_revoke",
        summary=_("Revoke a partner client at once (its tokens stop working)"),
        request=None,
        responses={200: PartnerClientOutputSerializer, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def revoke(self, request: Request, pk: str) -> Response:
        client = partners.partner_client_get(client_uuid=pk, agency=request.tenant)  # type: ignore[attr-defined]
        partners.partner_client_revoke(client=client)
        fresh = partners.partner_client_get(client_uuid=pk, agency=request.tenant)  # type: ignore[attr-defined]
        return Response(PartnerClientOutputSerializer(fresh).data)
