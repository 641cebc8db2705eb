"""The audit API of an agency: events (auditors), export (auditors), public key (anyone)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.accounts.models import Role
from apps.accounts.permissions import staff_with_roles
from apps.audit.api.filters import AuditEventFilter
from apps.audit.api.renderers import NDJSON, NDJSONRenderer
from apps.audit.api.serializers import (
    AuditEventOutputSerializer,
    AuditExportQueryInputSerializer,
    AuditPublicKeyOutputSerializer,
)
from apps.audit.export import audit_export_start
from apps.audit.selectors import audit_event_list
from apps.audit.signing import ALGORITHM, schema_key
from apps.core.openapi import PROBLEM_RESPONSES
from apps.core.pagination import CursorPagination
from apps.core.renderers import JSONRenderer
from apps.core.tenancy import current_schema

IsAuditReader = staff_with_roles(Role.AUDITOR, Role.AGENCY_ADMIN)


class AuditEventCursorPagination(CursorPagination):
    """Newest first, by sequence (stable while new events arrive)."""

    ordering = "-sequence"
    page_size = 50


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The agency's audit trail, read-only, for its auditors and administrators."""

    permission_classes = (IsAuditReader,)
    serializer_class = AuditEventOutputSerializer
    pagination_class = AuditEventCursorPagination
    filterset_class = AuditEventFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return audit_event_list()

    @extend_schema(
        operation_id="audit_events_list",
        summary=_("List the agency's audit events (newest first, cursor pagination)"),
        responses={200: AuditEventOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["audit"],
    )
    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().list(request, *args, **kwargs)


class AuditExportViewSet(viewsets.ViewSet):
    """A range of the chain as JSON Lines, ending with its checkpoint and the public key."""

    permission_classes = (IsAuditReader,)
    renderer_classes = (JSONRenderer, NDJSONRenderer)

    @extend_schema(
        operation_id="audit_export",
        summary=_("Export the agency's audit chain as JSON Lines with its signed checkpoint"),
        description=_(
            "One canonical event per line, in chain order; the last line is "
            '`{"export": ..., "checkpoint": ..., "public_key": ..., "key_id": ...}`. '
            "See docs/audit.md to verify an export without Guichet's code."
        ),
        parameters=[
            OpenApiParameter("from_sequence", int, description=_("First sequence (default 1).")),
            OpenApiParameter("to_sequence", int, description=_("Last sequence (default: head).")),
            OpenApiParameter(
                "format",
                str,
                enum=["json", "ndjson"],
                description=_(
                    "Optional format override; the export is JSON Lines either way (`json` "
                    "only changes the media type of error answers)."
                ),
            ),
        ],
        responses={
            (200, NDJSON): OpenApiResponse(OpenApiTypes.STR, description=_("JSON Lines.")),
            **PROBLEM_RESPONSES,
        },
        tags=["audit"],
    )
    def export(self, request: Request) -> StreamingHttpResponse:
        params = request.query_params.dict()
        params.pop(api_settings.URL_FORMAT_OVERRIDE or "format", None)  # content negotiation's
        query = AuditExportQueryInputSerializer(data=params)
        query.is_valid(raise_exception=True)
        export = audit_export_start(**query.validated_data)
        response = StreamingHttpResponse(export.lines(), content_type=NDJSON)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = (
            f'attachment; filename="audit-{export.schema}-{export.from_sequence}-'
            f'{export.to_sequence}-{stamp}.jsonl"'
        )
        return response


class AuditPublicKeyViewSet(viewsets.ViewSet):
    """The agency's checkpoint public key: public, so that anyone can verify an export."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="audit_public_key",
        summary=_("The Ed25519 public key the agency's audit checkpoints are signed with"),
        responses={200: AuditPublicKeyOutputSerializer},
        auth=[],
        tags=["audit"],
    )
    def retrieve(self, request: Request) -> Response:
        key = schema_key(current_schema())
        body = {
            "schema": key.schema,
            "algorithm": ALGORITHM,
            "key_id": key.key_id,
            "public_key": key.public_base64,
            "public_key_pem": key.public_pem,
        }
        return Response(AuditPublicKeyOutputSerializer(body).data)
