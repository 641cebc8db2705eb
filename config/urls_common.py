"""Routes served on every host: operations endpoints, API docs, identity."""

from django.urls import URLPattern, include, path
from drf_spectacular.views import SpectacularAPIView

from apps.accounts.api.keys import JwksView
from apps.certificates.keys_views import root_ca, webhook_keys
from apps.core import views as core_views
from apps.core.docs import RedocView, SwaggerView

operations_urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics_view, name="metrics"),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path(".well-known/guichet-root-ca.pem", root_ca, name="root-ca"),
    path(".well-known/webhook-keys.json", webhook_keys, name="webhook-keys"),
]


def docs_urlpatterns(urlconf: str) -> list[URLPattern]:
    """The schema and its two documentation pages, describing the routes of ``urlconf``.

    Without an explicit urlconf drf-spectacular describes ``ROOT_URLCONF`` (the agency routes)
    on every host, the public one included.
    """
    return [
        path("api/schema/", SpectacularAPIView.as_view(urlconf=urlconf), name="schema"),
        path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
        path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    ]


identity_urlpatterns = [path("api/v1/", include("apps.accounts.api.urls"))]
