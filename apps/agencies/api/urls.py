"""Platform agency routes (public host)."""

from django.urls import path

from apps.agencies.api.views import PlatformAgencyViewSet

urlpatterns = [
    path(
        "platform/agencies/",
        PlatformAgencyViewSet.as_view({"get": "list", "post": "create"}),
        name="platform-agencies",
    ),
    path(
        "platform/agencies/<slug:slug>/",
        PlatformAgencyViewSet.as_view({"get": "retrieve"}),
        name="platform-agency",
    ),
    path(
        "platform/agencies/<slug:slug>/deactivate/",
        PlatformAgencyViewSet.as_view({"post": "deactivate"}),
        name="platform-agency-deactivate",
    ),
    path(
        "platform/agencies/<slug:slug>/activate/",
        PlatformAgencyViewSet.as_view({"post": "activate"}),
        name="platform-agency-activate",
    ),
]
