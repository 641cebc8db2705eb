"""Identity routes, mounted on both the public host and every agency host."""

from typing import Any

from django.urls import URLPattern, path

from apps.accounts.api.partners import PartnerClientViewSet
from apps.accounts.api.people import (
    ContactChangeViewSet,
    InvitationAcceptViewSet,
    PasswordResetViewSet,
    PlatformInvitationViewSet,
    PlatformPeopleViewSet,
    StaffInvitationViewSet,
    StaffPeopleViewSet,
)
from apps.accounts.api.views import (
    AuthViewSet,
    MeViewSet,
    PasswordViewSet,
    SessionViewSet,
    StaffMeViewSet,
    VerificationViewSet,
)

urlpatterns = [
    path("auth/register/", AuthViewSet.as_view({"post": "register"}), name="auth-register"),
    path("auth/token/", AuthViewSet.as_view({"post": "token"}), name="auth-token"),
    path("auth/token/refresh/", AuthViewSet.as_view({"post": "refresh"}), name="auth-refresh"),
    path("auth/logout/", SessionViewSet.as_view({"post": "logout"}), name="auth-logout"),
    path(
        "auth/verify/request/",
        VerificationViewSet.as_view({"post": "request_code"}),
        name="auth-verify-request",
    ),
    path(
        "auth/verify/confirm/",
        VerificationViewSet.as_view({"post": "confirm"}),
        name="auth-verify-confirm",
    ),
    path("me/", MeViewSet.as_view({"get": "retrieve", "patch": "partial_update"}), name="me"),
    path("me/password/", PasswordViewSet.as_view({"post": "change"}), name="me-password"),
    path(
        "auth/password-reset/request/",
        PasswordResetViewSet.as_view({"post": "request_code"}),
        name="auth-password-reset-request",
    ),
    path(
        "auth/password-reset/confirm/",
        PasswordResetViewSet.as_view({"post": "confirm"}),
        name="auth-password-reset-confirm",
    ),
    path(
        "me/contact/request/",
        ContactChangeViewSet.as_view({"post": "request_code"}),
        name="me-contact-request",
    ),
    path(
        "me/contact/confirm/",
        ContactChangeViewSet.as_view({"post": "confirm"}),
        name="me-contact-confirm",
    ),
]


def _people_routes(prefix: str, people: Any, invitations: Any) -> list[URLPattern]:
    """The people and invitation routes of one audience (``staff`` or ``platform``)."""
    one = "<uuid:pk>/"
    routes = [
        path(f"{prefix}/people/", people.as_view({"get": "list"}), name=f"{prefix}-people"),
        path(
            f"{prefix}/people/{one}",
            people.as_view({"get": "retrieve"}),
            name=f"{prefix}-person",
        ),
        path(
            f"{prefix}/invitations/",
            invitations.as_view({"get": "list", "post": "create"}),
            name=f"{prefix}-invitations",
        ),
        path(
            f"{prefix}/invitations/{one}",
            invitations.as_view({"get": "retrieve"}),
            name=f"{prefix}-invitation",
        ),
        path(
            f"{prefix}/invitations/{one}revoke/",
            invitations.as_view({"post": "revoke"}),
            name=f"{prefix}-invitation-revoke",
        ),
    ]
    for action, segment in (
        ("change_role", "role"),
        ("suspend", "suspend"),
        ("reactivate", "reactivate"),
        ("end", "end"),
        ("reset_password", "reset-password"),
    ):
        routes.append(
            path(
                f"{prefix}/people/{one}{segment}/",
                people.as_view({"post": action}),
                name=f"{prefix}-person-{segment}",
            )
        )
    return routes


# Platform administration of every agency's staff: public host only.
platform_urlpatterns = _people_routes("platform", PlatformPeopleViewSet, PlatformInvitationViewSet)

# Partner tokens are bound to the agency whose host issues them: agency hosts only.
agency_urlpatterns = [
    *_people_routes("staff", StaffPeopleViewSet, StaffInvitationViewSet),
    path(
        "invitations/accept/",
        InvitationAcceptViewSet.as_view({"post": "accept"}),
        name="invitations-accept",
    ),
    path(
        "auth/partner-token/",
        AuthViewSet.as_view({"post": "partner_token"}),
        name="auth-partner-token",
    ),
    path("staff/me/", StaffMeViewSet.as_view({"get": "retrieve"}), name="staff-me"),
    path(
        "staff/partner-clients/",
        PartnerClientViewSet.as_view({"get": "list", "post": "create"}),
        name="staff-partner-clients",
    ),
    path(
        "staff/partner-clients/<uuid:pk>/",
        PartnerClientViewSet.as_view({"get": "retrieve"}),
        name="staff-partner-client",
    ),
    path(
        "staff/partner-clients/<uuid:pk>/rotate-secret/",
        PartnerClientViewSet.as_view({"post": "rotate_secret"}),
        name="staff-partner-client-rotate-secret",
    ),
    path(
        "staff/partner-clients/<uuid:pk>/revoke/",
        PartnerClientViewSet.as_view({"post": "revoke"}),
        name="staff-partner-client-revoke",
    ),
]
