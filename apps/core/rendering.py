"""Plain rendering for the hot list endpoints: the JSON DRF's fields would produce, without them.

A page of 50 rows through model instances and nested ``ModelSerializer`` classes cost about
15 ms of CPU per request on the benchmark machine, most of it building objects that are thrown
away (benches/README.md, "Performance budget"). The hot lists read ``values()`` rows and render
them with small functions built on these helpers; each keeps its output serializer as the
documented contract (OpenAPI), and a test renders the same rows both ways and compares them.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from django.utils import timezone


def datetime_text(value: datetime | None, zone: tzinfo | None = None) -> str | None:
    """``value`` exactly as DRF's ``DateTimeField`` renders it with the ISO 8601 format.

    In ``zone`` (default: the current time zone), with ``Z`` for a zero UTC offset.
    """
    if value is None:
        return None
    text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def person_name(first_name: str, last_name: str, email: str | None, phone: str | None) -> str:
    """How a person is named to staff: full name, else e-mail, else phone (``User`` rules)."""
    return f"{first_name} {last_name}".strip() or str(email or phone or "")
