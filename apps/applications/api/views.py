"""Application APIs. Thin: parse the input, call one service or selector, render.

* citizens, on an agency host: ``/api/v1/applications/`` (their own applications only);
* staff of the agency, on its host: ``/api/v1/staff/applications/`` (the work queue);
* citizens, on the public host: ``/api/v1/me/applications/`` (every agency, from the index).

An id that is not visible to the caller is 404 (never 403); when it belongs to another agency
the probe is recorded in the platform's audit trail.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

import structlog
from django.core.exceptions import SuspiciousFileOperation
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.accounts.permissions import IsAgencyStaff, IsCitizen
from apps.applications import attachments as files
from apps.applications import selectors, services
from apps.applications.api.inputs import (
    ApplicationAnswerInfoInputSerializer,
    ApplicationCreateInputSerializer,
    ApplicationFormInputSerializer,
    ApplicationWithdrawInputSerializer,
    AttachmentUploadInputSerializer,
    StaffAssignInputSerializer,
    StaffDecisionInputSerializer,
    StaffEmptyInputSerializer,
    StaffNoteInputSerializer,
    StaffRejectInputSerializer,
    StaffRequestInfoInputSerializer,
)
from apps.applications.api.serializers import (
    MY_APPLICATION_COLUMNS,
    STAFF_QUEUE_COLUMNS,
    AttachmentOutputSerializer,
    CitizenApplicationListOutputSerializer,
    CitizenApplicationOutputSerializer,
    InternalNoteOutputSerializer,
    MyApplicationOutputSerializer,
    StaffApplicationListOutputSerializer,
    StaffApplicationOutputSerializer,
    my_application_items,
    staff_queue_items,
)
from apps.applications.errors import ApplicationNotFound, AttachmentNotFound
from apps.applications.filters import StaffApplicationFilter
from apps.applications.models import Application, Attachment
from apps.applications.workflow import Actor
from apps.core.exceptions import problem_exception_handler
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.pagination import PageNumberPagination
from apps.idempotency.decorators import IDEMPOTENCY_RESPONSES, idempotent

logger = structlog.get_logger(__name__)

ViewMethod = Callable[..., Response]

NOT_FOUND = {404: problem(_("No such application for you in this agency."))}
IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description=_(
        "The ETag of the application as you read it. Missing: 428 precondition_required. "
        "Not the current one (someone changed the application since): 412 precondition_failed."
    ),
)
OPTIONAL_IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=_("Optional ETag: when sent and stale, 412 precondition_failed."),
)
TRANSITION_RESPONSES = {
    409: problem(_("Not possible in the current status (transition_not_allowed).")),
    412: problem(_("The application changed since you read it (precondition_failed).")),
    **NOT_FOUND,
    **PROBLEM_RESPONSES,
}
STAFF_TRANSITION_RESPONSES = {
    428: problem(_("If-Match is missing (precondition_required).")),
    **TRANSITION_RESPONSES,
}
FILE_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.BINARY, description=_("The document, as an attachment download.")
)
# Object store in redirect mode (STORAGE_S3_DOWNLOADS=redirect): where to fetch the file.
SIGNED_URL_REDIRECT = OpenApiResponse(
    description=_("Redirect (Location) to a short-lived signed URL of the object store.")
)


def not_found_probe(view_method: ViewMethod) -> ViewMethod:
    """Answer 404 for an invisible application, recording probes of another agency's ids.

    The 404 is *returned* (not raised) so the audit event survives an enclosing transaction,
    such as the idempotency decorator's.
    """

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return view_method(self, request, *args, **kwargs)
        except ApplicationNotFound as exc:
            services.cross_agency_probe_record(application_id=kwargs["pk"])
            return problem_exception_handler(exc, {})

    return wrapper


def _user(request: Request) -> User:
    return cast(User, request.user)


def _role(request: Request) -> str:
    return str(cast(Any, request.auth).get("role", ""))


def _if_match(request: Request) -> str | None:
    return request.headers.get("If-Match") or None


def attachment_file_response(attachment: Attachment) -> HttpResponseBase:
    """Stream a stored document as a download that browsers will not render or sniff (or, in
    the object store's redirect mode, send the caller to a short-lived signed URL of it)."""
    try:
        response = files.download_response(
            attachment.file_path,
            filename=attachment.original_name,
            content_type=attachment.mime_type,
        )
    except FileNotFoundError:
        logger.error("attachment_file_missing", attachment_id=str(attachment.id))
        raise AttachmentNotFound() from None
    except SuspiciousFileOperation:  # a name outside this agency's prefix: never served
        logger.error("attachment_outside_agency", attachment_id=str(attachment.id))
        raise AttachmentNotFound() from None
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Citizens, on an agency host -------------------------------------------------------------


class CitizenApplicationViewSet(viewsets.ViewSet):
    """A citizen's own applications in this agency."""

    permission_classes = (IsCitizen,)
    pagination_class = PageNumberPagination

    def _detail(self, request: Request, pk: UUID, *, code: int = status.HTTP_200_OK) -> Response:
        application = selectors.application_get_for_citizen(
            application_id=pk, citizen_id=_user(request).pk
        )
        if application is None:
            raise ApplicationNotFound()
        body = CitizenApplicationOutputSerializer(application).data
        return Response(body, status=code, headers={"ETag": application.etag})

    @extend_schema(
        operation_id="applications_list",
        summary=_("My applications in this agency"),
        responses={200: CitizenApplicationListOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["applications"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        queryset = selectors.application_list_for_citizen(citizen_id=_user(request).pk)
        page = paginator.paginate_queryset(queryset, request, view=self)
        body = CitizenApplicationListOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(body)

    @extend_schema(
        operation_id="applications_create",
        summary=_("Start a draft for a service"),
        description=_(
            "Answers given now are checked against the service's form (400 form_data_invalid "
            "with `errors` keyed `form_data.<field>`). An Idempotency-Key is optional here."
        ),
        request=ApplicationCreateInputSerializer,
        examples=[
            OpenApiExample(
                "birth certificate copy",
                value={
                    "service": "copie-acte-naissance",
                    "form_data": {"nom": "Mensah", "naissance": {"date": "2001-04-12"}},
                },
                request_only=True,
            )
        ],
        responses={
            201: CitizenApplicationOutputSerializer,
            **IDEMPOTENCY_RESPONSES,
            **PROBLEM_RESPONSES,
        },
        tags=["applications"],
    )
    @idempotent(scope="application_create", required=False)
    def create(self, request: Request) -> Response:
        data = ApplicationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_create(
            citizen=_user(request),
            service_code=data.validated_data["service"],
            form_data=data.validated_data.get("form_data"),
        )
        return self._detail(request, application.id, code=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="applications_retrieve",
        summary=_("One of my applications"),
        responses={200: CitizenApplicationOutputSerializer, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["applications"],
    )
    @not_found_probe
    def retrieve(self, request: Request, pk: UUID) -> Response:
        return self._detail(request, pk)

    @extend_schema(
        operation_id="applications_update_form",
        summary=_("Replace the answers of my draft"),
        description=_("Allowed in a draft and while information is requested."),
        parameters=[OPTIONAL_IF_MATCH_PARAMETER],
        request=ApplicationFormInputSerializer,
        responses={200: CitizenApplicationOutputSerializer, **TRANSITION_RESPONSES},
        tags=["applications"],
    )
    @not_found_probe
    def partial_update(self, request: Request, pk: UUID) -> Response:
        data = ApplicationFormInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.application_form_update(
            application_id=pk,
            citizen=_user(request),
            form_data=data.validated_data["form_data"],
            if_match=_if_match(request),
        )
        return self._detail(request, pk)

    @extend_schema(
        operation_id="applications_submit",
        summary=_("Submit my draft"),
        description=_(
            "Checks the answers and the required documents, gives the application its reference "
            "(e.g. EC-2026-000123) and its deadline. Idempotency-Key required: a retry with the "
            "same key replays the first answer."
        ),
        parameters=[OPTIONAL_IF_MATCH_PARAMETER],
        request=None,
        responses={
            200: CitizenApplicationOutputSerializer,
            **IDEMPOTENCY_RESPONSES,
            **TRANSITION_RESPONSES,
        },
        tags=["applications"],
    )
    @idempotent(scope="application_submit", required=True)
    @not_found_probe
    def submit(self, request: Request, pk: UUID) -> Response:
        StaffEmptyInputSerializer(data=request.data).is_valid(raise_exception=True)
        application = services.application_submit(
            application_id=pk, citizen=_user(request), if_match=_if_match(request)
        )
        # The service hands the application back with its documents and history (the new
        # entry included): the answer costs no read after the reference is claimed.
        body = CitizenApplicationOutputSerializer(application).data
        return Response(body, headers={"ETag": application.etag})

    @extend_schema(
        operation_id="applications_withdraw",
        summary=_("Withdraw my application (before a decision)"),
        parameters=[OPTIONAL_IF_MATCH_PARAMETER],
        request=ApplicationWithdrawInputSerializer,
        responses={200: CitizenApplicationOutputSerializer, **TRANSITION_RESPONSES},
        tags=["applications"],
    )
    @not_found_probe
    def withdraw(self, request: Request, pk: UUID) -> Response:
        data = ApplicationWithdrawInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.application_transition(
            application_id=pk,
            action="withdraw",
            actor=_user(request),
            role=Actor.CITIZEN,
            reason=data.validated_data.get("reason"),
            if_match=_if_match(request),
        )
        return self._detail(request, pk)

    @extend_schema(
        operation_id="applications_answer_info",
        summary=_("Answer the agency's request for information"),
        description=_("Optionally with corrected answers; the application goes back to submitted."),
        parameters=[OPTIONAL_IF_MATCH_PARAMETER],
        request=ApplicationAnswerInfoInputSerializer,
        responses={200: CitizenApplicationOutputSerializer, **TRANSITION_RESPONSES},
        tags=["applications"],
    )
    @not_found_probe
    def answer_info(self, request: Request, pk: UUID) -> Response:
        data = ApplicationAnswerInfoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.application_transition(
            application_id=pk,
            action="answer_info",
            actor=_user(request),
            role=Actor.CITIZEN,
            reason=data.validated_data.get("message"),
            form_data=data.validated_data.get("form_data"),
            if_match=_if_match(request),
        )
        return self._detail(request, pk)

    @extend_schema(
        operation_id="applications_attachments_create",
        summary=_("Attach a document (multipart)"),
        description=_(
            "The type is sniffed from the content (never from the name or Content-Type): 415 "
            "attachment_type_refused for a type the document does not accept (executables and "
            "scripts never), 413 attachment_too_large over its size limit. The content is then "
            "read: 422 attachment_image_too_large (more pixels than allowed), "
            "attachment_inflates_too_much (a PDF whose streams expand far beyond the file), "
            "attachment_active_content (a PDF with JavaScript or launch actions), "
            "attachment_encrypted (an encrypted PDF), attachment_unreadable (damaged, or a "
            "variant that cannot be checked). Nothing is stored when refused."
        ),
        parameters=[OPTIONAL_IF_MATCH_PARAMETER],
        request={"multipart/form-data": AttachmentUploadInputSerializer},
        responses={
            201: AttachmentOutputSerializer,
            413: problem(_("Larger than the document type allows (attachment_too_large).")),
            415: problem(_("Not a type this document accepts (attachment_type_refused).")),
            **TRANSITION_RESPONSES,
            422: problem(
                "Content that would harm a viewer: attachment_image_too_large, "
                "attachment_inflates_too_much, attachment_active_content, attachment_encrypted, "
                "attachment_unreadable."
            ),
        },
        tags=["applications"],
    )
    @not_found_probe
    def upload(self, request: Request, pk: UUID) -> Response:
        data = AttachmentUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            application_id=pk,
            citizen=_user(request),
            document_type=data.validated_data["document_type"],
            upload=data.validated_data["file"],
            if_match=_if_match(request),
        )
        return Response(
            AttachmentOutputSerializer(attachment).data,
            status=status.HTTP_201_CREATED,
            headers={"ETag": attachment.application.etag},
        )

    @extend_schema(
        operation_id="applications_attachments_download",
        summary=_("Download one of my documents"),
        responses={200: FILE_RESPONSE, 302: SIGNED_URL_REDIRECT, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["applications"],
    )
    @not_found_probe
    def download(self, request: Request, pk: UUID, attachment_pk: UUID) -> Any:
        application = selectors.application_get_visible(
            application_id=pk, citizen_id=_user(request).pk
        )
        if application is None:
            raise ApplicationNotFound()
        attachment = selectors.attachment_get(application=application, attachment_id=attachment_pk)
        if attachment is None:
            raise AttachmentNotFound()
        return attachment_file_response(attachment)

    @extend_schema(
        operation_id="applications_attachments_delete",
        summary=_("Remove a document from my draft"),
        parameters=[OPTIONAL_IF_MATCH_PARAMETER],
        responses={204: None, **TRANSITION_RESPONSES},
        tags=["applications"],
    )
    @not_found_probe
    def remove_attachment(self, request: Request, pk: UUID, attachment_pk: UUID) -> Response:
        services.attachment_remove(
            application_id=pk,
            attachment_id=attachment_pk,
            citizen=_user(request),
            if_match=_if_match(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Staff of the agency, on its host --------------------------------------------------------


class StableOrderingFilter(OrderingFilter):
    """``?ordering=`` with the id as last key, so pages never overlap or skip rows."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        return [*ordering, "id"] if ordering else ordering


class StaffPagination(PageNumberPagination):
    """The work queue shows 50 applications a page unless asked otherwise (at most 100)."""

    page_size = 50


class StaffApplicationViewSet(viewsets.GenericViewSet):
    """The agency's work queue and the decisions on applications."""

    permission_classes = (IsAgencyStaff,)
    filter_backends = (DjangoFilterBackend, StableOrderingFilter)
    filterset_class = StaffApplicationFilter
    ordering_fields = ("submitted_at", "due_at", "updated_at", "reference", "status")
    pagination_class = StaffPagination

    def get_queryset(self) -> Any:
        return selectors.application_queue_for_staff()

    def _render(self, request: Request, application: Application) -> Response:
        context = {"role": _role(request), "user_id": _user(request).pk}
        body = StaffApplicationOutputSerializer(application, context=context).data
        return Response(body, headers={"ETag": application.etag})

    def _detail(self, request: Request, pk: UUID) -> Response:
        application = selectors.application_get_for_staff(application_id=pk)
        if application is None:
            raise ApplicationNotFound()
        return self._render(request, application)

    def _transition(self, request: Request, pk: UUID, action: str, **arguments: Any) -> Response:
        services.application_transition(
            application_id=pk,
            action=action,
            actor=_user(request),
            role=_role(request),
            if_match=_if_match(request),
            **arguments,
        )
        return self._detail(request, pk)

    @extend_schema(
        operation_id="staff_applications_list",
        summary=_("The work queue"),
        description=_(
            "Filters: status (repeatable), service (code), assignee (id, `me` or `none`), "
            "overdue, submitted_from / submitted_to (dates, inclusive), reference. Ordering: "
            "`ordering=due_at` (default: soonest deadline first), submitted_at, updated_at, "
            "reference, status, `-` for descending. 50 per page by default (page_size ≤ 100)."
        ),
        responses={200: StaffApplicationListOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        paginator = cast(StaffPagination, self.paginator)
        rows = paginator.paginate_rows(queryset, STAFF_QUEUE_COLUMNS, request, view=self)
        return self.get_paginated_response(staff_queue_items(rows))

    @extend_schema(
        operation_id="staff_applications_retrieve",
        summary=_("One application with its answers, documents, history and notes"),
        description=_("Opening an application is recorded in the agency's audit trail."),
        responses={200: StaffApplicationOutputSerializer, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def retrieve(self, request: Request, pk: UUID) -> Response:
        application = selectors.application_get_for_staff(application_id=pk)
        if application is None:
            raise ApplicationNotFound()
        services.application_view_record(application=application)
        return self._render(request, application)

    @extend_schema(
        operation_id="staff_applications_take",
        summary=_("Assign the application to me and start the review"),
        parameters=[IF_MATCH_PARAMETER],
        request=None,
        responses={200: StaffApplicationOutputSerializer, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def take(self, request: Request, pk: UUID) -> Response:
        StaffEmptyInputSerializer(data=request.data).is_valid(raise_exception=True)
        return self._transition(request, pk, "take")

    @extend_schema(
        operation_id="staff_applications_assign",
        summary=_("Assign a submitted application to someone (supervisors, admins)"),
        parameters=[IF_MATCH_PARAMETER],
        request=StaffAssignInputSerializer,
        responses={200: StaffApplicationOutputSerializer, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def assign(self, request: Request, pk: UUID) -> Response:
        data = StaffAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._transition(
            request,
            pk,
            "assign",
            assignee_id=data.validated_data["assignee"],
            reason=data.validated_data.get("reason"),
        )

    @extend_schema(
        operation_id="staff_applications_reassign",
        summary=_("Give an application to someone else (supervisors, admins)"),
        parameters=[IF_MATCH_PARAMETER],
        request=StaffAssignInputSerializer,
        responses={200: StaffApplicationOutputSerializer, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def reassign(self, request: Request, pk: UUID) -> Response:
        data = StaffAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._transition(
            request,
            pk,
            "reassign",
            assignee_id=data.validated_data["assignee"],
            reason=data.validated_data.get("reason"),
        )

    @extend_schema(
        operation_id="staff_applications_request_info",
        summary=_("Ask the citizen for information"),
        parameters=[IF_MATCH_PARAMETER],
        request=StaffRequestInfoInputSerializer,
        responses={200: StaffApplicationOutputSerializer, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def request_info(self, request: Request, pk: UUID) -> Response:
        data = StaffRequestInfoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._transition(request, pk, "request_info", reason=data.validated_data["message"])

    @extend_schema(
        operation_id="staff_applications_approve",
        summary=_("Approve"),
        parameters=[IF_MATCH_PARAMETER],
        request=StaffDecisionInputSerializer,
        responses={200: StaffApplicationOutputSerializer, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def approve(self, request: Request, pk: UUID) -> Response:
        data = StaffDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._transition(request, pk, "approve", reason=data.validated_data.get("reason"))

    @extend_schema(
        operation_id="staff_applications_reject",
        summary=_("Reject, with a reason"),
        parameters=[IF_MATCH_PARAMETER],
        request=StaffRejectInputSerializer,
        responses={200: StaffApplicationOutputSerializer, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def reject(self, request: Request, pk: UUID) -> Response:
        data = StaffRejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._transition(request, pk, "reject", reason=data.validated_data["reason"])

    @extend_schema(
        operation_id="staff_applications_close",
        summary=_("Close a decided or withdrawn application (supervisors, admins)"),
        parameters=[IF_MATCH_PARAMETER],
        request=StaffDecisionInputSerializer,
        responses={200: StaffApplicationOutputSerializer, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def close(self, request: Request, pk: UUID) -> Response:
        data = StaffDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._transition(request, pk, "close", reason=data.validated_data.get("reason"))

    @extend_schema(
        operation_id="staff_applications_notes_create",
        summary=_("Add an internal note (never shown to the citizen)"),
        request=StaffNoteInputSerializer,
        responses={201: InternalNoteOutputSerializer, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def add_note(self, request: Request, pk: UUID) -> Response:
        data = StaffNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.application_note_add(
            application_id=pk,
            author=_user(request),
            role=_role(request),
            body=data.validated_data["body"],
        )
        return Response(InternalNoteOutputSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="staff_applications_attachments_download",
        summary=_("Download a citizen's document (recorded in the audit trail)"),
        responses={200: FILE_RESPONSE, 302: SIGNED_URL_REDIRECT, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    @not_found_probe
    def download(self, request: Request, pk: UUID, attachment_pk: UUID) -> Any:
        application = selectors.application_get_visible(application_id=pk, citizen_id=None)
        if application is None:
            raise ApplicationNotFound()
        attachment = selectors.attachment_get(application=application, attachment_id=attachment_pk)
        if attachment is None:
            raise AttachmentNotFound()
        response = attachment_file_response(attachment)
        services.attachment_download_record(attachment=attachment)
        return response


# --- Citizens, on the public host ------------------------------------------------------------


class MyApplicationViewSet(viewsets.ViewSet):
    """The citizen's applications in every agency, from the public index."""

    permission_classes = (IsCitizen,)
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="me_applications_list",
        summary=_("My applications in every agency"),
        description=_(
            "Most recently changed first. Open one on its agency's host "
            "(`agency.host`) with /api/v1/applications/{id}/."
        ),
        responses={200: MyApplicationOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["applications"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        queryset = selectors.application_entry_list_for_person(citizen_id=_user(request).pk)
        rows = paginator.paginate_rows(queryset, MY_APPLICATION_COLUMNS, request, view=self)
        return paginator.get_paginated_response(my_application_items(rows))
