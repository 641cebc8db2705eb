"""URLs of an agency host (``etat-civil.localhost`` in development)."""

from django.contrib import admin
from django.urls import include, path

from apps.accounts.api.urls import agency_urlpatterns as partner_urlpatterns
from apps.accounts.console import console_urlpatterns
from apps.applications.api.urls import tenant_urlpatterns as application_urlpatterns
from apps.realtime.console import console_urlpatterns as realtime_console_urlpatterns
from config.urls_common import docs_urlpatterns, identity_urlpatterns, operations_urlpatterns

urlpatterns = [
    *operations_urlpatterns,
    *docs_urlpatterns("config.urls_tenant"),
    *identity_urlpatterns,
    path("api/v1/", include(partner_urlpatterns)),
    path("api/v1/audit/", include("apps.audit.api.urls")),
    path("api/v1/", include("apps.realtime.api.urls")),
    path("api/v1/", include("apps.catalogue.api.urls")),
    path("api/v1/", include(application_urlpatterns)),
    path("api/v1/", include("apps.certificates.api.urls")),
    path("api/v1/", include("apps.webhooks.api.urls")),
    path("api/v1/", include("apps.payments.api.urls")),
    path("", include("apps.certificates.urls")),
    *console_urlpatterns,
    *realtime_console_urlpatterns,
    path("", include("apps.payments.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "apps.core.exceptions.not_found_view"
handler500 = "apps.core.exceptions.server_error_view"
