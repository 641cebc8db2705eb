"""The agency URLconf plus a test-only ping endpoint."""

from django.urls import path

from config.urls_tenant import urlpatterns as tenant_urlpatterns
from tests.security.views import PingViewSet, ScopedPingViewSet, UnscopedPingViewSet

urlpatterns = [
    path("test/ping/", PingViewSet.as_view({"get": "list"})),
    path("test/scoped/", ScopedPingViewSet.as_view({"get": "list"})),
    path("test/unscoped/", UnscopedPingViewSet.as_view({"get": "list"})),
    *tenant_urlpatterns,
]

handler404 = "apps.core.exceptions.not_found_view"
handler500 = "apps.core.exceptions.server_error_view"
