"""Routes served on every host: operations endpoints, API docs, identity."""

from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from apps.core import views as core_views

operations_urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics_view, name="metrics"),
]

# The HTML pages answer GET only: their template renderer cannot render OPTIONS metadata.
# Swagger UI's split view serves its start-up script as a file (?script), not inline: the
# Content-Security-Policy allows no inline script.
HTML_PAGE_METHODS = ["get", "head"]

docs_urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", http_method_names=HTML_PAGE_METHODS),
        name="swagger-ui",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", http_method_names=HTML_PAGE_METHODS),
        name="redoc",
    ),
]

identity_urlpatterns = [path("api/v1/", include("apps.accounts.api.urls"))]
