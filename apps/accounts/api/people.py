"""People management APIs: an agency's staff and invitations (agency admins, on the agency's
host), every agency's (platform admins, on the public host), accepting an invitation, and a
citizen's password reset and contact changes. Thin: parse, call a service, render.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import contacts, invitations, passwords, people
from apps.accounts.api.serializers import MeOutputSerializer, NormalizedEmailField, PhoneField
from apps.accounts.invitations import agency_base_url
from apps.accounts.models import Invitation, Membership, Role, User
from apps.accounts.permissions import IsPerson, IsPlatformAdmin, staff_with_roles
from apps.agencies.models import Agency
from apps.core.errors import InvalidInput
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.pagination import PageNumberPagination
from apps.core.serializers import StrictInputSerializer
from apps.core.throttling import ScopedHotKeyRateThrottle

UNAVAILABLE = {503: problem(_("A security check or the message delivery is unavailable."))}
CONFLICT = {409: problem(_("The change is not possible in the membership's state (see `code`)."))}

# --- serializers ------------------------------------------------------------------------------


class PersonSummarySerializer(serializers.ModelSerializer):
    """Who a membership belongs to."""

    class Meta:
        model = User
        fields = ("id", "email", "phone", "first_name", "last_name", "is_active")
        extra_kwargs = {
            "id": {"help_text": _("The person's identifier (UUID).")},
            "email": {"help_text": _("E-mail address, or null.")},
            "phone": {"help_text": _("Phone number (E.164), or null.")},
            "first_name": {"help_text": _("Given name.")},
            "last_name": {"help_text": _("Family name.")},
            "is_active": {"help_text": _("False when the account is deactivated platform-wide.")},
        }


class StaffMembershipOutputSerializer(serializers.ModelSerializer):
    """A civil servant's membership of an agency."""

    user = PersonSummarySerializer(read_only=True, help_text=_("The member."))
    agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text=_("Slug of the agency.")
    )
    status = serializers.ChoiceField(
        choices=("active", "suspended", "ended"),
        read_only=True,
        help_text=_("active, suspended (can be reactivated) or ended."),
    )

    class Meta:
        model = Membership
        fields = (
            "id",
            "user",
            "agency",
            "role",
            "status",
            "created_at",
            "suspended_at",
            "ended_at",
        )
        extra_kwargs = {
            "id": {"help_text": _("The membership's identifier (UUID).")},
            "role": {"help_text": _("The member's role in the agency.")},
            "created_at": {"help_text": _("When the membership began.")},
            "suspended_at": {"help_text": _("When it was suspended; null otherwise.")},
            "ended_at": {"help_text": _("When it ended; null otherwise.")},
        }


class InvitationOutputSerializer(serializers.ModelSerializer):
    """An invitation (never its link: only the invitee receives it)."""

    agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text=_("Slug of the agency.")
    )
    status = serializers.ChoiceField(
        choices=("pending", "accepted", "revoked", "expired"),
        read_only=True,
        help_text=_("pending, accepted, revoked or expired."),
    )

    class Meta:
        model = Invitation
        fields = (
            "id",
            "agency",
            "role",
            "email",
            "phone",
            "status",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        )
        extra_kwargs = {
            "id": {"help_text": _("The invitation's identifier (UUID).")},
            "role": {"help_text": _("The role the invitee gets on acceptance.")},
            "email": {"help_text": _("Where the link was sent (or null).")},
            "phone": {"help_text": _("Where the link was sent by SMS (or null).")},
            "created_at": {"help_text": _("When it was sent.")},
            "expires_at": {"help_text": _("When the link stops working.")},
            "accepted_at": {"help_text": _("When it was accepted; null otherwise.")},
            "revoked_at": {"help_text": _("When it was revoked; null otherwise.")},
        }


class InvitationCreateInputSerializer(StrictInputSerializer):
    """Whom to invite into which role: an e-mail address or a phone number."""

    email = NormalizedEmailField(
        required=False, max_length=254, help_text=_("The invitee's e-mail address.")
    )
    phone = PhoneField(
        required=False, max_length=32, help_text=_("The invitee's phone number (link by SMS).")
    )
    role = serializers.ChoiceField(choices=Role.choices, help_text=_("The role to grant."))


class PlatformInvitationCreateInputSerializer(InvitationCreateInputSerializer):
    """An invitation into one agency, sent by a platform admin."""

    agency = serializers.SlugField(help_text=_("Slug of the agency."))
    role = serializers.ChoiceField(
        choices=Role.choices,
        default=Role.AGENCY_ADMIN,
        help_text=_("The role to grant (agency administrator by default)."),
    )


class RoleChangeInputSerializer(StrictInputSerializer):
    """The member's new role."""

    role = serializers.ChoiceField(choices=Role.choices, help_text=_("The new role."))


class InvitationAcceptInputSerializer(StrictInputSerializer):
    """The token of the link and the invitee's password."""

    token = serializers.CharField(max_length=128, help_text=_("The token at the end of the link."))
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        help_text=_("The password to set (at least 10 characters, not a common one)."),
    )


class PasswordResetRequestInputSerializer(StrictInputSerializer):
    """The login of the account to reset."""

    login = serializers.CharField(
        max_length=254, help_text=_("The e-mail address or phone number used to sign in.")
    )


class PasswordResetRequestOutputSerializer(serializers.Serializer[Any]):
    """The same answer for every login."""

    detail = serializers.CharField(help_text=_("What happens next."))
    expires_in = serializers.IntegerField(help_text=_("Seconds a code, if one was sent, works."))


class PasswordResetConfirmInputSerializer(StrictInputSerializer):
    """The login, the code received and the new password."""

    login = serializers.CharField(
        max_length=254, help_text=_("The e-mail address or phone number used to sign in.")
    )
    code = serializers.RegexField(
        r"^\d{6}$", help_text=_("The 6-digit code received."), max_length=6
    )
    new_password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        help_text=_("The new password (at least 10 characters, not a common one)."),
    )


class ContactChangeRequestInputSerializer(StrictInputSerializer):
    """The new address: one of ``email`` or ``phone``."""

    email = NormalizedEmailField(
        required=False, max_length=254, help_text=_("The new e-mail address.")
    )
    phone = PhoneField(required=False, max_length=32, help_text=_("The new phone number."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("email")) == bool(attrs.get("phone")):
            raise serializers.ValidationError(
                _("Give an email address or a phone number (one of them).")
            )
        return attrs


class ContactChangeConfirmInputSerializer(ContactChangeRequestInputSerializer):
    """The new address again, and the code sent to it."""

    code = serializers.RegexField(
        r"^\d{6}$", help_text=_("The 6-digit code received."), max_length=6
    )


class ContactChangeRequestOutputSerializer(serializers.Serializer[Any]):
    """Where the code went."""

    channel = serializers.ChoiceField(
        choices=("email", "phone"), help_text=_("The kind of address.")
    )
    expires_in = serializers.IntegerField(help_text=_("Seconds the code works."))


# --- helpers --------------------------------------------------------------------------------


def _actor(request: Request) -> User:
    return cast(User, request.user)


def _tenant(request: Request) -> Agency:
    return cast(Agency, request.tenant)  # type: ignore[attr-defined]


def _page(view: Any, request: Request, queryset: Any, serializer: type) -> Response:
    paginator = PageNumberPagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _address(data: dict[str, Any]) -> tuple[str | None, str | None]:
    return data.get("email") or None, data.get("phone") or None


STATUS_FILTER = OpenApiParameter(
    "status",
    str,
    enum=["active", "suspended", "ended"],
    description=_("Only memberships in this state."),
)
ROLE_FILTER = OpenApiParameter(
    "role", str, enum=list(Role.values), description=_("Only memberships with this role.")
)


def _filtered(request: Request, queryset: Any) -> Any:
    wanted = request.query_params.get("status")
    if wanted == "active":
        queryset = queryset.filter(is_active=True)
    elif wanted == "suspended":
        queryset = queryset.filter(is_active=False, ended_at__isnull=True)
    elif wanted == "ended":
        queryset = queryset.filter(ended_at__isnull=False)
    elif wanted:
        raise InvalidInput(errors={"status": [gettext("Unknown status.")]})
    role = request.query_params.get("role")
    if role:
        if role not in Role.values:
            raise InvalidInput(errors={"role": [gettext("Unknown role.")]})
        queryset = queryset.filter(role=role)
    return queryset


# --- people ---------------------------------------------------------------------------------


class _PeopleBase(viewsets.ViewSet):
    """Memberships of the caller's scope: the host's agency, or every agency (platform)."""

    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = PageNumberPagination  # lists are paginated (and described so)

    def scope(self, request: Request) -> Agency | None:
        raise NotImplementedError

    def _get(self, request: Request, pk: str) -> Membership:
        return people.membership_get(membership_id=pk, agency=self.scope(request))

    def _render(self, request: Request, pk: str) -> Response:
        return Response(StaffMembershipOutputSerializer(self._get(request, pk)).data)

    def list(self, request: Request) -> Response:
        queryset = _filtered(request, people.membership_list(agency=self.scope(request)))
        return _page(self, request, queryset, StaffMembershipOutputSerializer)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._render(request, pk)

    def change_role(self, request: Request, pk: str) -> Response:
        data = RoleChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        people.membership_change_role(
            membership=self._get(request, pk),
            role=data.validated_data["role"],
            actor=_actor(request),
        )
        return self._render(request, pk)

    def suspend(self, request: Request, pk: str) -> Response:
        people.membership_suspend(membership=self._get(request, pk), actor=_actor(request))
        return self._render(request, pk)

    def reactivate(self, request: Request, pk: str) -> Response:
        people.membership_reactivate(membership=self._get(request, pk), actor=_actor(request))
        return self._render(request, pk)

    def end(self, request: Request, pk: str) -> Response:
        people.membership_end(membership=self._get(request, pk), actor=_actor(request))
        return self._render(request, pk)

    def reset_password(self, request: Request, pk: str) -> Response:
        membership = self._get(request, pk)
        if str(membership.user_id) == str(request.user.pk):
            raise InvalidInput(
                _("Reset your own password from the console sign-in page."),
                code="own_membership",
            )
        passwords.staff_password_reset_force(
            membership=membership,
            actor=_actor(request),
            base_url=agency_base_url(membership.agency),
        )
        return Response(status=status.HTTP_202_ACCEPTED)


def _people_schema(viewset: type[_PeopleBase], prefix: str, tag: str) -> type[_PeopleBase]:
    """Describe the operations of a people viewset (one set of descriptions, two prefixes)."""
    docs: dict[str, dict[str, Any]] = {
        "list": {
            "summary": _("Members of the staff (paginated)"),
            "parameters": [STATUS_FILTER, ROLE_FILTER],
            "responses": {200: StaffMembershipOutputSerializer(many=True), **PROBLEM_RESPONSES},
        },
        "retrieve": {
            "summary": _("One membership"),
            "responses": {200: StaffMembershipOutputSerializer, **PROBLEM_RESPONSES},
        },
        "change_role": {
            "summary": _("Change a member's role (their sessions end)"),
            "request": RoleChangeInputSerializer,
            "responses": {
                200: StaffMembershipOutputSerializer,
                **PROBLEM_RESPONSES,
                **CONFLICT,
                **UNAVAILABLE,
            },
        },
        "suspend": {
            "summary": _("Suspend a member: every session ends at once"),
            "request": None,
            "responses": {
                200: StaffMembershipOutputSerializer,
                **PROBLEM_RESPONSES,
                **CONFLICT,
                **UNAVAILABLE,
            },
        },
        "reactivate": {
            "summary": _("Lift a suspension"),
            "request": None,
            "responses": {200: StaffMembershipOutputSerializer, **PROBLEM_RESPONSES, **CONFLICT},
        },
        "end": {
            "summary": _("End a membership: every session ends at once"),
            "request": None,
            "responses": {
                200: StaffMembershipOutputSerializer,
                **PROBLEM_RESPONSES,
                **CONFLICT,
                **UNAVAILABLE,
            },
        },
        "reset_password": {
            "summary": _("Reset a member's password: sessions end, a single-use link is sent"),
            "request": None,
            "responses": {202: None, **PROBLEM_RESPONSES, **UNAVAILABLE},
        },
    }
    for name, spec in docs.items():
        method = getattr(viewset, name)

        def wrapper(self: Any, *args: Any, __method: Any = method, **kwargs: Any) -> Any:
            return __method(self, *args, **kwargs)

        wrapper.__name__ = name
        wrapper.__doc__ = method.__doc__
        setattr(
            viewset,
            name,
            extend_schema(operation_id=f"{prefix}_people_{name}", tags=[tag], **spec)(wrapper),
        )
    return viewset


class StaffPeopleViewSet(_PeopleBase):
    """This agency's staff (agency admins of this agency)."""

    permission_classes = (staff_with_roles(Role.AGENCY_ADMIN),)

    def scope(self, request: Request) -> Agency | None:
        return _tenant(request)


class PlatformPeopleViewSet(_PeopleBase):
    """Every agency's staff (platform admins, public host)."""

    permission_classes = (IsPlatformAdmin,)

    def scope(self, request: Request) -> Agency | None:
        return None

    def list(self, request: Request) -> Response:
        queryset = _filtered(request, people.membership_list(agency=None))
        slug = request.query_params.get("agency")
        if slug:
            queryset = queryset.filter(agency__slug=slug)
        return _page(self, request, queryset, StaffMembershipOutputSerializer)


_people_schema(StaffPeopleViewSet, "staff", "staff")
_people_schema(PlatformPeopleViewSet, "platform", "platform")
PlatformPeopleViewSet.list = extend_schema(  # type: ignore[method-assign]
    parameters=[
        STATUS_FILTER,
        ROLE_FILTER,
        OpenApiParameter("agency", str, description=_("Only this agency's (its slug).")),
    ]
)(PlatformPeopleViewSet.list)


# --- invitations ----------------------------------------------------------------------------


class StaffInvitationViewSet(viewsets.ViewSet):
    """This agency's invitations (agency admins of this agency)."""

    permission_classes: tuple[type[BasePermission], ...] = (staff_with_roles(Role.AGENCY_ADMIN),)
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = PageNumberPagination

    def scope(self, request: Request) -> Agency | None:
        return _tenant(request)

    @extend_schema(
        operation_id="staff_invitations_list",
        summary=_("Invitations of this agency (paginated)"),
        responses={200: InvitationOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def list(self, request: Request) -> Response:
        queryset = invitations.invitation_list(agency=self.scope(request))
        return _page(self, request, queryset, InvitationOutputSerializer)

    @extend_schema(
        operation_id="staff_invitations_create",
        summary=_("Invite a civil servant (a single-use link is sent by e-mail or SMS)"),
        request=InvitationCreateInputSerializer,
        responses={
            201: InvitationOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("Already a member of the staff (already_member).")),
            **UNAVAILABLE,
        },
        tags=["staff"],
        examples=[
            OpenApiExample(
                "An agent by e-mail",
                value={"email": "k.agbeko@etat-civil.tg", "role": "agent"},
                request_only=True,
            )
        ],
    )
    def create(self, request: Request) -> Response:
        data = InvitationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email, phone = _address(data.validated_data)
        invitation = invitations.invitation_create(
            agency=_tenant(request),
            role=data.validated_data["role"],
            email=email,
            phone=phone,
            invited_by=_actor(request),
        )
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="staff_invitations_retrieve",
        summary=_("One invitation"),
        responses={200: InvitationOutputSerializer, **PROBLEM_RESPONSES},
        tags=["staff"],
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        invitation = invitations.invitation_get(invitation_id=pk, agency=self.scope(request))
        return Response(InvitationOutputSerializer(invitation).data)

    @extend_schema(
        operation_id="staff_invitations_revoke",
        summary=_("Revoke an invitation: its link stops working"),
        request=None,
        responses={
            200: InvitationOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("Accepted already (invitation_closed).")),
        },
        tags=["staff"],
    )
    def revoke(self, request: Request, pk: str) -> Response:
        invitation = invitations.invitation_get(invitation_id=pk, agency=self.scope(request))
        invitation = invitations.invitation_revoke(invitation=invitation)
        return Response(InvitationOutputSerializer(invitation).data)


class PlatformInvitationViewSet(StaffInvitationViewSet):
    """Every agency's invitations (platform admins, public host)."""

    permission_classes = (IsPlatformAdmin,)

    def scope(self, request: Request) -> Agency | None:
        return None

    @extend_schema(
        operation_id="platform_invitations_list",
        summary=_("Invitations of every agency (paginated)"),
        responses={200: InvitationOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["platform"],
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    @extend_schema(
        operation_id="platform_invitations_create",
        summary=_("Invite an agency's administrator (or another role)"),
        request=PlatformInvitationCreateInputSerializer,
        responses={
            201: InvitationOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("Already a member of the staff (already_member).")),
            **UNAVAILABLE,
        },
        tags=["platform"],
    )
    def create(self, request: Request) -> Response:
        data = PlatformInvitationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agency = Agency.objects.filter(slug=data.validated_data["agency"]).first()
        if agency is None or agency.schema_name == "public":
            raise InvalidInput(
                errors={"agency": [gettext("Unknown agency.")]}, code="unknown_agency"
            )
        email, phone = _address(data.validated_data)
        invitation = invitations.invitation_create(
            agency=agency,
            role=data.validated_data["role"],
            email=email,
            phone=phone,
            invited_by=_actor(request),
        )
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="platform_invitations_retrieve",
        summary=_("One invitation"),
        responses={200: InvitationOutputSerializer, **PROBLEM_RESPONSES},
        tags=["platform"],
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return super().retrieve(request, pk)

    @extend_schema(
        operation_id="platform_invitations_revoke",
        summary=_("Revoke an invitation: its link stops working"),
        request=None,
        responses={
            200: InvitationOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("Accepted already (invitation_closed).")),
        },
        tags=["platform"],
    )
    def revoke(self, request: Request, pk: str) -> Response:
        return super().revoke(request, pk)


class InvitationAcceptViewSet(viewsets.ViewSet):
    """Accepting an invitation (anyone holding the link, on the agency's host)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "auth"

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ScopedHotKeyRateThrottle()]

    @extend_schema(
        operation_id="invitations_accept",
        summary=_("Accept an invitation: set the password, become a member of the staff"),
        description=_(
            "The link is single-use and expires. Unknown, expired, revoked or used links all "
            "answer 400 invitation_invalid and change nothing. Next: sign in to the console."
        ),
        request=InvitationAcceptInputSerializer,
        responses={200: StaffMembershipOutputSerializer, **PROBLEM_RESPONSES},
        tags=["auth"],
    )
    def accept(self, request: Request) -> Response:
        data = InvitationAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = invitations.invitation_accept(
            token=data.validated_data["token"],
            password=data.validated_data["password"],
            agency=_tenant(request),
        )
        fresh = people.membership_get(membership_id=membership.pk, agency=_tenant(request))
        return Response(StaffMembershipOutputSerializer(fresh).data)


# --- a citizen's password reset and contact changes -----------------------------------------


class PasswordResetViewSet(viewsets.ViewSet):
    """Resetting a forgotten password with a one-time code."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "password_reset"

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ScopedHotKeyRateThrottle()]

    @extend_schema(
        operation_id="auth_password_reset_request",
        summary=_("Ask for a password reset code"),
        description=_(
            "If the login is the verified e-mail address or phone number of an account, a "
            "6-digit code is sent there. The answer is the same whether it is or not."
        ),
        request=PasswordResetRequestInputSerializer,
        responses={202: PasswordResetRequestOutputSerializer, **PROBLEM_RESPONSES, **UNAVAILABLE},
        tags=["auth"],
    )
    def request_code(self, request: Request) -> Response:
        data = PasswordResetRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passwords.password_reset_request(login=data.validated_data["login"])
        body = {
            "detail": _(
                "If this login belongs to an account with a verified address, a code was sent "
                "to it."
            ),
            "expires_in": settings.OTP_TTL_SECONDS,
        }
        return Response(
            PasswordResetRequestOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        summary=_("Set a new password with the code received"),
        description=_(
            "Every session of the account ends. Wrong code: 400 otp_invalid with "
            "`attempts_left`; after too many, otp_attempts_exceeded (ask for a new code)."
        ),
        request=PasswordResetConfirmInputSerializer,
        responses={204: None, **PROBLEM_RESPONSES, **UNAVAILABLE},
        tags=["auth"],
    )
    def confirm(self, request: Request) -> Response:
        data = PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passwords.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactChangeViewSet(viewsets.ViewSet):
    """Changing one's e-mail address or phone number, proven by a code sent to the new one."""

    permission_classes = (IsPerson,)

    def get_throttles(self) -> list[Any]:
        if self.action == "request_code":
            self.throttle_scope = "contact"
            return [*super().get_throttles(), ScopedHotKeyRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="me_contact_request",
        summary=_("Send a code to my new e-mail address or phone number"),
        request=ContactChangeRequestInputSerializer,
        responses={
            202: ContactChangeRequestOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("Already yours, or another account's (see `code`).")),
            **UNAVAILABLE,
        },
        tags=["me"],
    )
    def request_code(self, request: Request) -> Response:
        data = ContactChangeRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = "email" if data.validated_data.get("email") else "phone"
        contacts.contact_change_request(
            user=_actor(request), channel=channel, address=data.validated_data[channel]
        )
        body = {"channel": channel, "expires_in": settings.OTP_TTL_SECONDS}
        return Response(
            ContactChangeRequestOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        operation_id="me_contact_confirm",
        summary=_("Confirm my new address with the code (the old one is told)"),
        request=ContactChangeConfirmInputSerializer,
        responses={
            200: MeOutputSerializer,
            **PROBLEM_RESPONSES,
            409: problem(_("Already yours, or another account's (see `code`).")),
            **UNAVAILABLE,
        },
        tags=["me"],
    )
    def confirm(self, request: Request) -> Response:
        data = ContactChangeConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = "email" if data.validated_data.get("email") else "phone"
        user = contacts.contact_change_confirm(
            user=User.objects.get(pk=request.user.pk),
            channel=channel,
            address=data.validated_data[channel],
            code=data.validated_data["code"],
        )
        from apps.accounts.api.views import _with_memberships

        return Response(MeOutputSerializer(_with_memberships(user)).data)


__all__ = [
    "ContactChangeViewSet",
    "InvitationAcceptViewSet",
    "PasswordResetViewSet",
    "PlatformInvitationViewSet",
    "PlatformPeopleViewSet",
    "StaffInvitationViewSet",
    "StaffPeopleViewSet",
]
