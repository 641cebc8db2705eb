"""Reads of the outbox (operators, the periodic relay)."""

from __future__ import annotations

from django_tenants.utils import get_public_schema_name

from apps.agencies.selectors import agency_list


def outbox_schemas() -> list[str]:
    """Every schema holding an outbox: public first, then each agency's (active or not)."""
    agencies = list(agency_list().values_list("schema_name", flat=True))
    return [get_public_schema_name(), *agencies]
