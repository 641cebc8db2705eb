"""Typed access to django-tenants' connection state (its attributes are not in the stubs)."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection


def tenant_connection() -> Any:
    """The default connection, typed loosely for django-tenants' extra methods."""
    return cast(Any, connection)


def current_schema() -> str:
    """The schema the connection is on (``public`` or an agency's)."""
    return str(tenant_connection().schema_name)


def activate_public() -> None:
    """Point the connection at the public schema."""
    tenant_connection().set_schema_to_public()


def activate_agency(agency: Any) -> None:
    """Point the connection at ``agency``'s schema (public stays on the search path)."""
    tenant_connection().set_tenant(agency)
