"""OpenAPI description of the agency-bound bearer authentication (drf-spectacular extension)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AgencyBoundJWTScheme(OpenApiAuthenticationExtension):
    """Bearer JWT; staff, partner and platform tokens are valid on their own agency's host only."""

    target_class = "apps.accounts.authentication.AgencyBoundJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "Access token from /api/v1/auth/token/ (people) or /api/v1/auth/partner-token/ "
                "(partners). Staff, partner and platform tokens are bound to the agency whose "
                "host issued them and refused elsewhere with 401 token_wrong_agency."
            ),
        }
