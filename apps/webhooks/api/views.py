"""Webhook subscriptions of a partner client in this agency (scope ``webhooks:manage``)."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import partner_with_scope
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.pagination import PageNumberPagination
from apps.webhooks import selectors, services
from apps.webhooks.api.serializers import (
    WebhookDeliveryOutputSerializer,
    WebhookSubscriptionInputSerializer,
    WebhookSubscriptionOutputSerializer,
    WebhookSubscriptionSecretOutputSerializer,
)
from apps.webhooks.errors import SubscriptionNotFound

SCOPE = "webhooks:manage"
NOT_FOUND = {404: problem(_("No such subscription of yours in this agency."))}


def _client_id(request: Request) -> UUID:
    return UUID(str(cast(Any, request.user).pk))


class WebhookSubscriptionViewSet(viewsets.ViewSet):
    """A partner's endpoints for this agency's events."""

    permission_classes = (partner_with_scope(SCOPE),)
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="webhooks_subscriptions_list",
        summary=_("My webhook subscriptions in this agency"),
        responses={200: WebhookSubscriptionOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["webhooks"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        queryset = selectors.subscription_list_for_partner(partner_client_id=_client_id(request))
        page = paginator.paginate_queryset(queryset, request, view=self)
        body = WebhookSubscriptionOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(body)

    @extend_schema(
        operation_id="webhooks_subscriptions_create",
        summary=_("Subscribe an endpoint to events"),
        description=_(
            "The answer carries the signing `secret`, shown this once. Deliveries are signed "
            "with it (Guichet-Signature: t=...,v1=...; see docs/webhooks.md)."
        ),
        request=WebhookSubscriptionInputSerializer,
        examples=[
            OpenApiExample(
                "decisions",
                value={
                    "url": "https://partenaire.example/guichet/webhooks",
                    "events": ["application.decided", "certificate.issued"],
                },
                request_only=True,
            )
        ],
        responses={
            201: WebhookSubscriptionSecretOutputSerializer,
            409: problem(_("An active subscription for this URL exists.")),
            **PROBLEM_RESPONSES,
        },
        tags=["webhooks"],
    )
    def create(self, request: Request) -> Response:
        data = WebhookSubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription, secret = services.subscription_create(
            partner_client_id=_client_id(request),
            url=data.validated_data["url"],
            events=data.validated_data["events"],
        )
        body = WebhookSubscriptionSecretOutputSerializer(
            subscription, context={"secret": secret}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="webhooks_subscriptions_retrieve",
        summary=_("One of my subscriptions"),
        responses={200: WebhookSubscriptionOutputSerializer, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["webhooks"],
    )
    def retrieve(self, request: Request, pk: UUID) -> Response:
        subscription = selectors.subscription_get_for_partner(
            partner_client_id=_client_id(request), subscription_id=pk
        )
        if subscription is None:
            raise SubscriptionNotFound()
        return Response(WebhookSubscriptionOutputSerializer(subscription).data)

    @extend_schema(
        operation_id="webhooks_subscriptions_delete",
        summary=_("Stop a subscription"),
        responses={204: None, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["webhooks"],
    )
    def destroy(self, request: Request, pk: UUID) -> Response:
        services.subscription_deactivate(partner_client_id=_client_id(request), subscription_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="webhooks_subscriptions_rotate_secret",
        summary=_("Replace the signing secret"),
        request=None,
        responses={
            200: WebhookSubscriptionSecretOutputSerializer,
            **NOT_FOUND,
            **PROBLEM_RESPONSES,
        },
        tags=["webhooks"],
    )
    def rotate_secret(self, request: Request, pk: UUID) -> Response:
        subscription, secret = services.subscription_rotate_secret(
            partner_client_id=_client_id(request), subscription_id=pk
        )
        body = WebhookSubscriptionSecretOutputSerializer(
            subscription, context={"secret": secret}
        ).data
        return Response(body)

    @extend_schema(
        operation_id="webhooks_subscriptions_deliveries",
        summary=_("Delivery log of one of my subscriptions"),
        responses={
            200: WebhookDeliveryOutputSerializer(many=True),
            **NOT_FOUND,
            **PROBLEM_RESPONSES,
        },
        tags=["webhooks"],
    )
    def deliveries(self, request: Request, pk: UUID) -> Response:
        subscription = selectors.subscription_get_for_partner(
            partner_client_id=_client_id(request), subscription_id=pk
        )
        if subscription is None:
            raise SubscriptionNotFound()
        paginator = PageNumberPagination()
        queryset = selectors.delivery_list(subscription_id=subscription.pk)
        page = paginator.paginate_queryset(queryset, request, view=self)
        body = WebhookDeliveryOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(body)
