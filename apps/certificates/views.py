"""The public verification page (HTML) of a certificate, on its agency's host. No login."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from apps.certificates.codes import code_display, code_is_well_formed
from apps.certificates.verification import verification_lookup
from apps.core.language import in_english


def _agency_name(request: HttpRequest, english: bool) -> str:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return ""
    return str(tenant.name_en if english else tenant.name_fr)


@require_GET
def verify_page(request: HttpRequest, code: str) -> HttpResponse:
    """Valid, revoked (200) or unknown (404), in the visitor's language."""
    english = in_english()
    if not code_is_well_formed(code):
        # A typing mistake the check character caught: no lookup, say so.
        response = render(
            request,
            "certificates/verify.html",
            {"status": "mistyped", "agency_name": _agency_name(request, english)},
            status=404,
        )
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex"
        return response
    record = verification_lookup(code=code)
    context: dict[str, object] = {
        "status": "unknown",
        "agency_name": _agency_name(request, english),
    }
    if record is not None:
        context.update(
            status=record["status"],
            certificate=record,
            display_code=code_display(record["code"]),
            service_name=record["service_name_en" if english else "service_name_fr"],
            issued_at=parse_datetime(record["issued_at"]),
            revoked_at=parse_datetime(record["revoked_at"]) if record["revoked_at"] else None,
        )
    response = render(
        request, "certificates/verify.html", context, status=404 if record is None else 200
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
