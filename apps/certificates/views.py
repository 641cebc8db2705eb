"""The public verification page (HTML) of a certificate, on its agency's host. No login."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from apps.certificates.models import CertificateStatus
from apps.certificates.selectors import certificate_get_by_code


@require_GET
def verify_page(request: HttpRequest, code: str) -> HttpResponse:
    """Valid, revoked (200) or unknown (404), in the visitor's language."""
    certificate = certificate_get_by_code(code=code)
    english = (get_language() or "fr").startswith("en")
    tenant = getattr(request, "tenant", None)
    agency_name = ""
    if tenant is not None:
        agency_name = tenant.name_en if english else tenant.name_fr
    if certificate is None:
        status_text = "unknown"
        service_name = ""
    else:
        status_text = "revoked" if certificate.status == CertificateStatus.REVOKED else "valid"
        service_name = certificate.service_name_en if english else certificate.service_name_fr
    response = render(
        request,
        "certificates/verify.html",
        {
            "status": status_text,
            "certificate": certificate,
            "service_name": service_name,
            "agency_name": agency_name,
        },
        status=404 if certificate is None else 200,
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
