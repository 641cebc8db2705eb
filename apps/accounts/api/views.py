"""Identity endpoints: sign-up, tokens, logout, the caller's profile. Thin: parse, call, render."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import otp, refresh, services
from apps.accounts.api.serializers import (
    MeOutputSerializer,
    MeUpdateInputSerializer,
    PartnerTokenInputSerializer,
    PartnerTokenOutputSerializer,
    PasswordChangeInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    RegisterOutputSerializer,
    StaffMeOutputSerializer,
    TokenObtainInputSerializer,
    TokenOutputSerializer,
    VerifyConfirmInputSerializer,
    VerifyRequestInputSerializer,
    VerifyRequestOutputSerializer,
)
from apps.accounts.mfa.serializers import MfaRequiredProblemSerializer
from apps.accounts.models import Membership, User
from apps.accounts.permissions import IsAgencyStaff, IsPerson
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.parsers import FormParser, JSONParser
from apps.core.throttling import ScopedHotKeyRateThrottle
from apps.idempotency.decorators import IDEMPOTENCY_RESPONSES, idempotent

# Security checks backed by the hot-key store fail closed.
UNAVAILABLE_RESPONSE = {503: problem(_("A security check is unavailable (service_unavailable)."))}


MFA_REQUIRED_RESPONSE = OpenApiResponse(
    response=MfaRequiredProblemSerializer,
    description=_(
        "Not allowed (not_agency_staff, not_platform_admin), or a second factor is needed "
        "(mfa_required, with `mfa_token`, `expires_in` and `methods`) or not set up yet "
        "(mfa_enrolment_required)."
    ),
)


def _person(request: Request) -> User:
    """The authenticated person (views using it require IsPerson)."""
    return cast(User, request.user)


def _with_memberships(user: User) -> User:
    """The same user object with its memberships loaded (one query)."""
    prefetch_related_objects(
        [user], Prefetch("memberships", queryset=Membership.objects.select_related("agency"))
    )
    return user


class AuthViewSet(viewsets.ViewSet):
    """Sign-up and tokens."""

    throttle_scope = "auth"

    authentication_classes = ()  # must work whatever (expired) bearer header is sent
    permission_classes = (AllowAny,)
    # OAuth2 clients send form-encoded client credentials; everything else is JSON.
    parser_classes = (JSONParser, FormParser)

    def get_throttles(self) -> list[Any]:
        if self.action == "register":
            self.throttle_scope = "register"
        if self.action in ("register", "token", "partner_token"):
            return [*super().get_throttles(), ScopedHotKeyRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="auth_register",
        summary=_("Sign up as a citizen"),
        request=RegisterInputSerializer,
        responses={201: RegisterOutputSerializer, **PROBLEM_RESPONSES, **IDEMPOTENCY_RESPONSES},
        examples=[
            OpenApiExample(
                "Phone sign-up",
                value={
                    "phone": "+22890112233",
                    "password": "une-longue-phrase",
                    "first_name": "Afi",
                },
                request_only=True,
            )
        ],
        tags=["auth"],
    )
    @idempotent(scope="register", required=False)
    def register(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        body = RegisterOutputSerializer(_with_memberships(user)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="auth_token",
        summary=_("Obtain an access and a refresh token"),
        description=_(
            "portal=citizen works on every host. portal=staff is for members of the agency whose "
            "host is called; the token is refused on any other agency (401 token_wrong_agency). "
            "Staff and platform sign-ins need a second factor: send `otp` with the password, or "
            "get 403 mfa_required with `mfa_token` (valid `expires_in` seconds) and send it with "
            "the code to /api/v1/auth/token/mfa/. A wrong code is 401 mfa_invalid with "
            "`attempts_left`, too many 429 mfa_locked; a person who has not set up an "
            "authenticator yet gets 403 mfa_enrolment_required (first console sign-in)."
        ),
        request=TokenObtainInputSerializer,
        responses={
            200: TokenOutputSerializer,
            **PROBLEM_RESPONSES,
            403: MFA_REQUIRED_RESPONSE,
            **UNAVAILABLE_RESPONSE,
        },
        tags=["auth"],
    )
    def token(self, request: Request) -> Response:
        data = TokenObtainInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.token_obtain(request=request._request, **data.validated_data)
        return Response(tokens.as_response())

    @extend_schema(
        operation_id="auth_token_refresh",
        summary=_("Rotate a refresh token"),
        description=_(
            "The refresh token given is revoked; use the new one returned. Exactly one of "
            "simultaneous refreshes of one token succeeds (401 refresh_token_rotated for the "
            "others). A refresh token presented again after its rotation ends every session "
            "descended from the same sign-in (401 refresh_token_reused)."
        ),
        request=RefreshInputSerializer,
        responses={200: TokenOutputSerializer, **PROBLEM_RESPONSES},
        tags=["auth"],
    )
    def refresh(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = refresh.token_refresh(raw_refresh=data.validated_data["refresh"])
        return Response(tokens.as_response())

    @extend_schema(
        operation_id="auth_partner_token",
        summary=_("Partner token (OAuth2 client credentials)"),
        description=_(
            "Exchange a partner client's credentials for a short-lived token carrying the scopes "
            "granted in the agency whose host is called. Form-encoded or JSON."
        ),
        request=PartnerTokenInputSerializer,
        responses={200: PartnerTokenOutputSerializer, **PROBLEM_RESPONSES},
        tags=["auth"],
    )
    def partner_token(self, request: Request) -> Response:
        """OAuth2 clients usually send form-encoded bodies; JSON works too."""
        data = PartnerTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.partner_token_obtain(
            client_id=data.validated_data["client_id"],
            client_secret=data.validated_data["client_secret"],
            scope=data.validated_data.get("scope"),
        )
        return Response(
            {
                "access_token": tokens.access,
                "token_type": "Bearer",
                "expires_in": tokens.expires_in,
                "scope": tokens.scope,
            }
        )


class SessionViewSet(viewsets.ViewSet):
    """Ending a session."""

    permission_classes = (IsPerson,)

    @extend_schema(
        operation_id="auth_logout",
        summary=_("Log out: revoke a refresh token and the access token used"),
        description=_(
            "The refresh token is blacklisted and the access token of this request is refused "
            "from now on (401 token_revoked) until it would have expired."
        ),
        request=RefreshInputSerializer,
        responses={204: None, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSE},
        tags=["auth"],
    )
    def logout(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = cast(Any, request.auth)
        services.token_revoke(
            user=_person(request),
            raw_refresh=data.validated_data["refresh"],
            access_jti=token.get("jti"),
            access_exp=token.get("exp"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerificationViewSet(viewsets.ViewSet):
    """Proving that the caller receives mail or texts at the address on their account."""

    permission_classes = (IsPerson,)

    def get_throttles(self) -> list[Any]:
        if self.action == "request_code":  # each request sends a message: a tight budget
            self.throttle_scope = "verify"
            return [*super().get_throttles(), ScopedHotKeyRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="auth_verify_request",
        summary=_("Send me a one-time code"),
        description=_(
            "Sends a 6-digit code to the account's email address or phone number. It expires "
            "after `expires_in` seconds; a new request replaces the previous code."
        ),
        request=VerifyRequestInputSerializer,
        responses={
            202: VerifyRequestOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("The address is already verified (already_verified).")),
            **UNAVAILABLE_RESPONSE,
        },
        tags=["auth"],
    )
    def request_code(self, request: Request) -> Response:
        data = VerifyRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = data.validated_data["channel"]
        otp.otp_request(user=_person(request), channel=channel)
        body = {"channel": channel, "expires_in": settings.OTP_TTL_SECONDS}
        return Response(VerifyRequestOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="auth_verify_confirm",
        summary=_("Confirm a one-time code"),
        description=_(
            "Marks the address verified. Wrong code: 400 otp_invalid with `attempts_left`; "
            "after too many, otp_attempts_exceeded (request a new code); none pending: "
            "otp_expired."
        ),
        request=VerifyConfirmInputSerializer,
        responses={
            200: MeOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("The address is already verified (already_verified).")),
            **UNAVAILABLE_RESPONSE,
        },
        tags=["auth"],
    )
    def confirm(self, request: Request) -> Response:
        data = VerifyConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = otp.otp_confirm(user=_person(request), **data.validated_data)
        return Response(MeOutputSerializer(_with_memberships(user)).data)


class PasswordViewSet(viewsets.ViewSet):
    """Changing one's password (every token held is revoked)."""

    permission_classes = (IsPerson,)
    throttle_scope = "password"

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ScopedHotKeyRateThrottle()]

    @extend_schema(
        operation_id="me_password_change",
        summary=_("Change my password"),
        description=_(
            "Every refresh token of the account is revoked, the access token used is refused "
            "from now on, and so is every other access token issued before the change: sign "
            "in again."
        ),
        request=PasswordChangeInputSerializer,
        responses={204: None, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSE},
        tags=["me"],
    )
    def change(self, request: Request) -> Response:
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = cast(Any, request.auth)
        services.user_change_password(
            user=_person(request),
            access_jti=token.get("jti"),
            access_exp=token.get("exp"),
            **data.validated_data,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeViewSet(viewsets.ViewSet):
    """The caller's own profile."""

    permission_classes = (IsPerson,)

    @extend_schema(
        operation_id="me_retrieve",
        summary=_("My profile"),
        responses={200: MeOutputSerializer, **PROBLEM_RESPONSES},
        tags=["me"],
    )
    def retrieve(self, request: Request) -> Response:
        return Response(MeOutputSerializer(_with_memberships(_person(request))).data)

    @extend_schema(
        operation_id="me_update",
        summary=_("Change my names or preferred language"),
        request=MeUpdateInputSerializer,
        responses={200: MeOutputSerializer, **PROBLEM_RESPONSES},
        tags=["me"],
    )
    def partial_update(self, request: Request) -> Response:
        data = MeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=_person(request), data=data.validated_data)
        return Response(MeOutputSerializer(_with_memberships(user)).data)


class StaffMeViewSet(viewsets.ViewSet):
    """A civil servant's role in this agency (staff tokens of this agency only)."""

    permission_classes = (IsAgencyStaff,)

    @extend_schema(
        operation_id="staff_me_retrieve",
        summary=_("My role in this agency"),
        responses={200: StaffMeOutputSerializer, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def retrieve(self, request: Request) -> Response:
        agency = request.tenant  # type: ignore[attr-defined]
        token = cast(Any, request.auth)
        body = {"agency": agency.slug, "agency_name": agency.name, "role": token["role"]}
        return Response(StaffMeOutputSerializer(body).data)
