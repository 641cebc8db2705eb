"""The API documentation pages (Swagger UI, ReDoc), which fetch nothing from outside.

Their scripts and styles are drf-spectacular-sidecar's copies served by this host and the
pages load no web fonts (templates/docs/). The Content-Security-Policy of every HTML page
(apps/core/csp.py) limits them to this origin, which also stops what the bundled scripts would
still fetch from outside (ReDoc's footer logo): the pages work the same on a network without
internet access. Swagger UI is the split page (its start-up script is a file, not inline), and
ReDoc starts from its element: the policy allows no inline script.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# The HTML pages answer GET only: their template renderer cannot render OPTIONS metadata.
HTML_PAGE_METHODS = ["get", "head"]


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI of this host's schema (``?lang=en`` for English)."""

    template_name = "docs/swagger_ui.html"
    http_method_names = HTML_PAGE_METHODS


class RedocView(SpectacularRedocView):
    """ReDoc of this host's schema (``?lang=en`` for English)."""

    template_name = "docs/redoc.html"
    http_method_names = HTML_PAGE_METHODS
