"""Payment APIs. Thin: parse, call one service or selector, render.

* citizens, on an agency host: start a payment of an application's fee, follow it, list their
  payments and download receipts;
* the aggregator: ``POST /api/v1/payments/callback/`` (HMAC signature, no token);
* staff: the payments of an application, and fee exemptions (supervisors).
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.accounts.permissions import IsAgencyStaff, IsCitizen
from apps.applications import selectors as application_selectors
from apps.applications.api.views import IF_MATCH_PARAMETER, STAFF_TRANSITION_RESPONSES
from apps.applications.errors import ApplicationNotFound
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.pagination import PageNumberPagination
from apps.idempotency.decorators import IDEMPOTENCY_RESPONSES, idempotent
from apps.payments import selectors, services
from apps.payments.api.serializers import (
    FeeExemptionInputSerializer,
    PaymentCallbackOutputSerializer,
    PaymentOutputSerializer,
    PaymentStartInputSerializer,
)
from apps.payments.errors import PaymentNotFound
from apps.payments.models import PaymentStatus
from apps.payments.receipts import receipt_pdf

NOT_FOUND = {404: problem(_("No such payment or application for you in this agency."))}
PDF_RESPONSE = OpenApiResponse(response=OpenApiTypes.BINARY, description=_("The receipt (PDF)."))


def _user(request: Request) -> User:
    return cast(User, request.user)


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class CitizenPaymentViewSet(viewsets.ViewSet):
    """A citizen's payments in this agency."""

    permission_classes = (IsCitizen,)
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="payments_start",
        summary=_("Pay the fee of my application by mobile money"),
        description=_(
            "Only while the application is `awaiting_payment`. Answers 202: the payment is "
            "`pending` until you confirm it on your phone (then `succeeded`, and the application "
            "goes to the agency), or `failed`, `cancelled`, `expired`. Follow it with "
            "GET /api/v1/payments/{id}/. A second attempt while one waits is 409 "
            "payment_in_progress; an application that does not wait for a payment is 409 "
            "payment_not_due. The Idempotency-Key is required: a retry never charges twice."
        ),
        request=PaymentStartInputSerializer,
        examples=[
            OpenApiExample(
                "T-Money", value={"network": "tmoney", "phone": "+22890123456"}, request_only=True
            )
        ],
        responses={
            202: PaymentOutputSerializer,
            409: problem(
                _("A payment is waiting, or none is due (payment_in_progress, payment_not_due).")
            ),
            **NOT_FOUND,
            **IDEMPOTENCY_RESPONSES,
            **PROBLEM_RESPONSES,
        },
        tags=["payments"],
    )
    @idempotent(scope="payment_start", required=True)
    def start(self, request: Request, pk: UUID) -> Response:
        data = PaymentStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = services.payment_start(
            application_id=pk,
            citizen=_user(request),
            network=data.validated_data["network"],
            phone=data.validated_data["phone"],
        )
        body = PaymentOutputSerializer(payment, context={"new_payment": True}).data
        return Response(
            body,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/payments/{payment.pk}/"},
        )

    @extend_schema(
        operation_id="payments_list",
        summary=_("My payments in this agency (with their receipts)"),
        responses={200: PaymentOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["payments"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        queryset = selectors.payment_list_for_citizen(citizen_id=_user(request).pk)
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(PaymentOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="payments_retrieve",
        summary=_("One of my payments"),
        responses={200: PaymentOutputSerializer, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["payments"],
    )
    def retrieve(self, request: Request, pk: UUID) -> Response:
        payment = selectors.payment_get_for_citizen(payment_id=pk, citizen_id=_user(request).pk)
        if payment is None:
            raise PaymentNotFound()
        return Response(PaymentOutputSerializer(payment).data)

    @extend_schema(
        operation_id="payments_receipt",
        summary=_("The PDF receipt of one of my payments"),
        responses={200: PDF_RESPONSE, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["payments"],
    )
    def receipt(self, request: Request, pk: UUID) -> HttpResponse:
        payment = selectors.payment_get_for_citizen(payment_id=pk, citizen_id=_user(request).pk)
        if (
            payment is None
            or payment.paid_at is None
            or payment.status
            not in (
                PaymentStatus.SUCCEEDED,
                PaymentStatus.REFUNDED,
            )
        ):
            raise PaymentNotFound()
        language = str(getattr(request, "LANGUAGE_CODE", "fr"))[:2]
        return _pdf_response(receipt_pdf(payment, language=language), f"{payment.identifier}.pdf")


class PaymentCallbackViewSet(viewsets.ViewSet):
    """The aggregator's callbacks (authenticated by their HMAC signature, not by a token)."""

    permission_classes = (AllowAny,)
    authentication_classes = ()

    @extend_schema(
        operation_id="payments_callback",
        summary=_("Callback of the mobile-money aggregator"),
        description=_(
            "Signed with HMAC-SHA256 in `X-Payment-Signature: t=<unix time>,v1=<hex>` over "
            "`<t>.<body>`. The callback is only a trigger: the payment's status is read again "
            "from the provider before anything changes. A bad signature is 401, an unknown "
            "identifier 404, an amount that is not the one asked 400; repeats change nothing."
        ),
        request=OpenApiTypes.OBJECT,
        responses={
            200: PaymentCallbackOutputSerializer,
            401: problem(_("Bad or stale signature (payment_callback_unauthenticated).")),
            404: problem(_("No payment has this identifier (payment_callback_unknown).")),
            **PROBLEM_RESPONSES,
        },
        auth=[],
        tags=["payments"],
    )
    def callback(self, request: Request) -> Response:
        payment = services.payment_callback_receive(
            body=request.body, headers=cast(Any, request.headers)
        )
        return Response({"identifier": payment.identifier, "status": payment.status})


class StaffPaymentViewSet(viewsets.ViewSet):
    """Staff: an application's payments and fee exemptions."""

    permission_classes = (IsAgencyStaff,)
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="staff_applications_payments",
        summary=_("The payment attempts of an application"),
        responses={200: PaymentOutputSerializer(many=True), **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def list(self, request: Request, pk: UUID) -> Response:
        if application_selectors.application_get_for_staff(application_id=pk) is None:
            raise ApplicationNotFound()
        paginator = PageNumberPagination()
        queryset = selectors.payment_list_for_application(application_id=pk)
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(PaymentOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="staff_applications_exempt_fee",
        summary=_("Waive the fee of an application waiting for payment (supervisors)"),
        description=_(
            "The application goes to the agency (`submitted`). The category and the reason are "
            "kept with the exemption, in the history and the audit trail."
        ),
        parameters=[IF_MATCH_PARAMETER],
        request=FeeExemptionInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **STAFF_TRANSITION_RESPONSES},
        tags=["staff"],
    )
    def exempt(self, request: Request, pk: UUID) -> Response:
        data = FeeExemptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.fee_exemption_grant(
            application_id=pk,
            actor=_user(request),
            role=str(cast(Any, request.auth).get("role", "")),
            category_code=data.validated_data["category"],
            reason=data.validated_data["reason"],
            if_match=request.headers.get("If-Match") or None,
        )
        return Response(
            {"id": str(application.pk), "status": application.status},
            headers={"ETag": application.etag},
        )
