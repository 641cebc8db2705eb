"""The API documentation pages (Swagger UI, ReDoc), which fetch nothing from outside.

Their scripts and styles are drf-spectacular-sidecar's copies served by this host; the pages
load no web fonts, and a Content-Security-Policy limited to this host stops what the bundled
scripts would still fetch from outside (ReDoc's footer logo), so the pages work the same on
a network without internet access.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response

# The HTML pages answer GET only: their template renderer cannot render OPTIONS metadata.
HTML_PAGE_METHODS = ["get", "head"]
# Inline scripts and styles: the pages' own start-up code and the viewers' generated styles.
# Blob workers: ReDoc's search index.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


class _SelfContainedDocs:
    """Mix-in adding the docs' Content-Security-Policy to the page."""

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerView(_SelfContainedDocs, SpectacularSwaggerView):
    """Swagger UI of this host's schema (``?lang=en`` for English)."""

    template_name = "docs/swagger_ui.html"
    http_method_names = HTML_PAGE_METHODS


class RedocView(_SelfContainedDocs, SpectacularRedocView):
    """ReDoc of this host's schema (``?lang=en`` for English)."""

    template_name = "docs/redoc.html"
    http_method_names = HTML_PAGE_METHODS
