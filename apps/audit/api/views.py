"""The audit API of an agency: events and export (auditors), public keys, signed tree heads and
consistency proofs (anyone), inclusion proofs (auditors; citizens for their own files)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.accounts.models import Role, SigningKey
from apps.accounts.permissions import IsCitizen, staff_with_roles
from apps.audit.api.filters import AuditEventFilter
from apps.audit.api.renderers import NDJSON, NDJSONRenderer
from apps.audit.api.serializers import (
    AuditEventOutputSerializer,
    AuditExportQueryInputSerializer,
    AuditKeyOutputSerializer,
    AuditPublicKeyOutputSerializer,
    ConsistencyProofOutputSerializer,
    ConsistencyQueryInputSerializer,
    InclusionProofOutputSerializer,
    TreeHeadOutputSerializer,
    TreeHeadQueryInputSerializer,
)
from apps.audit.export import audit_export_start
from apps.audit.keys import audit_key_history
from apps.audit.proofs import (
    AuditEventNotFound,
    audit_event_for_proof,
    consistency_proof,
    inclusion_proof,
    tree_head_get,
    tree_head_public,
)
from apps.audit.selectors import audit_event_list
from apps.audit.signing import ALGORITHM, schema_key
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.pagination import CursorPagination, PageNumberPagination
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


# --- The Merkle log: tree heads, proofs, keys --------------------------------------------------


def _query(serializer_class: type, request: Request) -> dict[str, Any]:
    params = request.query_params.dict()
    params.pop(api_settings.URL_FORMAT_OVERRIDE or "format", None)
    query = serializer_class(data=params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class AuditTreeHeadViewSet(viewsets.ViewSet):
    """The agency's latest signed tree head (public: outsiders check the log with it)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="audit_tree_head",
        summary=_("The agency's latest signed tree head (RFC 9162 style)"),
        description=_(
            "Signed with the platform's audit key (`key_id`, see the audit keys); co-signed by "
            "the outside witness when one is configured. docs/audit.md shows how to check it."
        ),
        parameters=[TreeHeadQueryInputSerializer],
        responses={
            200: TreeHeadOutputSerializer,
            404: problem(_("No signed tree head (of that size) yet (audit_tree_head_not_found).")),
            **PROBLEM_RESPONSES,
        },
        auth=[],
        tags=["audit"],
    )
    def retrieve(self, request: Request) -> Response:
        query = _query(TreeHeadQueryInputSerializer, request)
        head = tree_head_get(tree_size=query.get("tree_size"))
        return Response(TreeHeadOutputSerializer(tree_head_public(head)).data)


class AuditConsistencyViewSet(viewsets.ViewSet):
    """Proof that a later tree head extends an earlier one (public: hashes only)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="audit_consistency_proof",
        summary=_("Prove that the log only grew between two signed tree heads"),
        parameters=[ConsistencyQueryInputSerializer],
        responses={
            200: ConsistencyProofOutputSerializer,
            404: problem(_("No signed tree head of one of the sizes (audit_tree_head_not_found).")),
            **PROBLEM_RESPONSES,
        },
        auth=[],
        tags=["audit"],
    )
    def retrieve(self, request: Request) -> Response:
        query = _query(ConsistencyQueryInputSerializer, request)
        proof = consistency_proof(first=query["first"], second=query["second"])
        return Response(ConsistencyProofOutputSerializer(proof).data)


class CanProveEvent(BasePermission):
    """Auditors and agency admins for any event; a citizen for the events of their own files."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return IsAuditReader().has_permission(request, view) or IsCitizen().has_permission(
            request, view
        )


class AuditInclusionViewSet(viewsets.ViewSet):
    """Proof that one event is in the agency's log."""

    permission_classes = (CanProveEvent,)

    @extend_schema(
        operation_id="audit_inclusion_proof",
        summary=_("Prove that an event is in the agency's audit log"),
        description=_(
            "Auditors and agency administrators for any event of their agency; a citizen for "
            "the events of their own applications (404 for any other). The event's canonical "
            "record, its audit path and the signed tree head: docs/audit.md shows how to check "
            "them with the public keys only."
        ),
        parameters=[TreeHeadQueryInputSerializer],
        responses={200: InclusionProofOutputSerializer, **PROBLEM_RESPONSES},
        tags=["audit"],
    )
    def retrieve(self, request: Request, event_id: UUID) -> Response:
        query = _query(TreeHeadQueryInputSerializer, request)
        event = audit_event_for_proof(event_id=event_id)
        if not IsAuditReader().has_permission(request, self) and not _own_application_event(
            event, request.user.pk
        ):
            raise AuditEventNotFound(_("No audit event with this id."))
        proof = inclusion_proof(event=event, tree_size=query.get("tree_size"))
        return Response(InclusionProofOutputSerializer(proof).data)


def _own_application_event(event: Any, citizen_id: Any) -> bool:
    from apps.applications.models import Application

    if event.target_type != "application" or not event.target_id:
        return False
    try:
        application_id = UUID(str(event.target_id))
    except ValueError:
        return False
    return Application.objects.filter(pk=application_id, citizen_id=citizen_id).exists()


class AuditKeyViewSet(viewsets.GenericViewSet):
    """Every key that ever signed tree heads, with its history (public)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    pagination_class = PageNumberPagination
    serializer_class = AuditKeyOutputSerializer
    queryset = SigningKey.objects.none()  # for the schema generator: the list is built by hand

    @extend_schema(
        operation_id="audit_keys",
        summary=_("The platform's audit keys and their history"),
        description=_(
            "Tree heads name the key that signed them (`key_id`); a rotated or retired key "
            "stays listed so that heads it signed still verify."
        ),
        responses={200: AuditKeyOutputSerializer(many=True)},
        auth=[],
        tags=["audit"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(audit_key_history(), request, view=self)
        body = AuditKeyOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(body)
