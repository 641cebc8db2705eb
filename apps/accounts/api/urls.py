"""Identity routes, mounted on both the public host and every agency host."""

from django.urls import path

from apps.accounts.api.partners import PartnerClientViewSet
from apps.accounts.api.views import (
    AuthViewSet,
    MeViewSet,
    PasswordViewSet,
    SessionViewSet,
    StaffMeViewSet,
    VerificationViewSet,
)
from apps.accounts.mfa.api import (
    PlatformSecondFactorResetViewSet,
    SecondFactorTokenViewSet,
    StaffSecondFactorResetViewSet,
)

urlpatterns = [
    path("auth/register/", AuthViewSet.as_view({"post": "register"}), name="auth-register"),
    path("auth/token/", AuthViewSet.as_view({"post": "token"}), name="auth-token"),
    path(
        "auth/token/mfa/",
        SecondFactorTokenViewSet.as_view({"post": "create"}),
        name="auth-token-mfa",
    ),
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
]

# The public host only (config.urls_public).
platform_urlpatterns = [
    path(
        "platform/second-factor/reset/",
        PlatformSecondFactorResetViewSet.as_view({"post": "create"}),
        name="platform-second-factor-reset",
    ),
]

# Partner tokens are bound to the agency whose host issues them: agency hosts only.
agency_urlpatterns = [
    path(
        "auth/partner-token/",
        AuthViewSet.as_view({"post": "partner_token"}),
        name="auth-partner-token",
    ),
    path(
        "staff/second-factor/reset/",
        StaffSecondFactorResetViewSet.as_view({"post": "create"}),
        name="staff-second-factor-reset",
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
