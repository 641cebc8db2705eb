"""Second-factor endpoints: the second step of a sign-in, and resetting a lost device."""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api.serializers import TokenOutputSerializer
from apps.accounts.mfa.serializers import MfaTokenInputSerializer, SecondFactorResetInputSerializer
from apps.accounts.mfa.services import second_factor_reset
from apps.accounts.models import Role, User
from apps.accounts.permissions import IsPlatformAdmin, staff_with_roles
from apps.accounts.services import token_obtain_second_factor
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.throttling import ScopedHotKeyRateThrottle

UNAVAILABLE_RESPONSE = {503: problem(_("A security check is unavailable (service_unavailable)."))}


class SecondFactorTokenViewSet(viewsets.ViewSet):
    """The second step of a staff or platform sign-in."""

    throttle_scope = "auth"
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ScopedHotKeyRateThrottle()]

    @extend_schema(
        operation_id="auth_token_mfa",
        summary=_("Complete a sign-in with the second factor"),
        description=_(
            "Exchange the `mfa_token` of a 403 mfa_required answer of /api/v1/auth/token/ and "
            "a code (authenticator app, or a single-use recovery code) for tokens whose `amr` "
            'claim is ["pwd", "otp", "mfa"]. 401 mfa_token_invalid when the step is '
            "unknown, expired, already completed or was started on another host; 401 "
            "mfa_invalid for a wrong code (with `attempts_left`, the step stays open); 429 "
            "mfa_locked after too many wrong codes."
        ),
        request=MfaTokenInputSerializer,
        responses={200: TokenOutputSerializer, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSE},
        examples=[
            OpenApiExample(
                "Authenticator code",
                value={"mfa_token": "Qm9u…", "otp": "123456"},
                request_only=True,
            )
        ],
        tags=["auth"],
    )
    def create(self, request: Request) -> Response:
        data = MfaTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = token_obtain_second_factor(**data.validated_data)
        return Response(tokens.as_response())


RESET_DESCRIPTION = _(
    "For a person who lost their authenticator: every second-factor device and recovery code "
    "of theirs is removed and their sessions end; their next console sign-in enrols a new "
    "authenticator. On an agency host, an agency admin resets the other staff of this agency "
    "(not agency admins: a platform administrator does); on the public host, a platform "
    "administrator resets anyone. Audited (mfa.reset). 404 for a person who is not staff "
    "here; 403 mfa_reset_not_allowed for one the caller may not reset (themselves included)."
)


class StaffSecondFactorResetViewSet(viewsets.ViewSet):
    """Agency admins reset the second factor of their agency's staff."""

    permission_classes: tuple[type[BasePermission], ...] = (staff_with_roles(Role.AGENCY_ADMIN),)

    @extend_schema(
        operation_id="staff_second_factor_reset",
        summary=_("Reset a staff member's second factor"),
        description=RESET_DESCRIPTION,
        request=SecondFactorResetInputSerializer,
        responses={204: None, **PROBLEM_RESPONSES, 404: problem(_("No such staff member here."))},
        tags=["staff"],
    )
    def create(self, request: Request) -> Response:
        data = SecondFactorResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        second_factor_reset(actor=cast(User, request.user), user_id=data.validated_data["user"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlatformSecondFactorResetViewSet(StaffSecondFactorResetViewSet):
    """Platform administrators reset anyone's second factor (public host)."""

    permission_classes = (IsPlatformAdmin,)

    @extend_schema(
        operation_id="platform_second_factor_reset",
        summary=_("Reset a person's second factor"),
        description=RESET_DESCRIPTION,
        request=SecondFactorResetInputSerializer,
        responses={204: None, **PROBLEM_RESPONSES, 404: problem(_("No such person."))},
        tags=["platform"],
    )
    def create(self, request: Request) -> Response:
        return super().create(request)
