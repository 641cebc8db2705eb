"""URLs of the public host (``localhost`` in development): platform and citizen identity."""

from django.contrib import admin
from django.urls import include, path

from apps.accounts.api.urls import platform_urlpatterns as people_urlpatterns
from apps.accounts.console import console_urlpatterns
from apps.applications.api.urls import public_urlpatterns as application_public_urlpatterns
from config.urls_common import docs_urlpatterns, identity_urlpatterns, operations_urlpatterns

urlpatterns = [
    *operations_urlpatterns,
    *docs_urlpatterns("config.urls_public"),
    *identity_urlpatterns,
    path("api/v1/", include("apps.agencies.api.urls")),
    path("api/v1/", include(people_urlpatterns)),
    path("api/v1/", include("apps.directory.api.urls")),
    path("api/v1/", include("apps.realtime.api.urls")),
    path("api/v1/", include(application_public_urlpatterns)),
    *console_urlpatterns,
    path("admin/", admin.site.urls),
]

handler404 = "apps.core.exceptions.not_found_view"
handler500 = "apps.core.exceptions.server_error_view"
