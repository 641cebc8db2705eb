"""Content-Security-Policy on the HTML pages: the console, the API docs, verification pages.

django-csp's middleware builds the header for every response; the JSON API has nothing a
policy would protect, so this subclass leaves every response that is not HTML alone (one
header lookup) and skips the nonce set-up for the JSON API's paths. The policy itself is
``CONTENT_SECURITY_POLICY`` in the settings: scripts only from this origin (no inline script:
the admin has none, Swagger UI is served as a split page whose script is a separate file,
ReDoc is initialised from its element), nothing from outside.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponseBase

JSON_API_PREFIX = "/api/v1/"


class HTMLContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, for HTML responses only."""

    def process_request(self, request: HttpRequest) -> None:
        if not request.path_info.startswith(JSON_API_PREFIX):
            super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
