"""The agency URLconf plus the test-only idempotent endpoints."""

from django.urls import path

from config.urls_tenant import urlpatterns as tenant_urlpatterns
from tests.idempotency.views import ThingViewSet

urlpatterns = [
    path("test/things/", ThingViewSet.as_view({"post": "create"})),
    path("test/optional/", ThingViewSet.as_view({"post": "optional"})),
    *tenant_urlpatterns,
]

handler404 = "apps.core.exceptions.not_found_view"
handler500 = "apps.core.exceptions.server_error_view"
