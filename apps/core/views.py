"""Operational endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from apps.core import health, metrics
from apps.core.exceptions import problem_document, problem_response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive (no dependency is checked)."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency answers; otherwise 503 naming the failing parts."""
    checks = health.readiness()
    failing = sorted(name for name, state in checks.items() if state != "ok")
    if failing:
        body = problem_document(
            status=503,
            code="not_ready",
            detail=_("Unavailable: %(parts)s.") % {"parts": ", ".join(failing)},
            extra={"checks": checks},
        )
        return JsonResponse(body, status=503, content_type="application/problem+json")
    return JsonResponse({"status": "ready", "checks": checks})


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for the holder of ``METRICS_TOKEN`` (see ``metrics_allowed``)."""
    allowed = metrics_allowed(request)
    if allowed is None:
        return problem_response(status=404, code="not_found", detail=_("Not found."))
    if not allowed:
        return problem_response(
            status=401,
            code="not_authenticated",
            detail=_("Authentication is required."),
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    payload, content_type = metrics.render()
    return HttpResponse(payload, content_type=content_type)


def metrics_allowed(request: HttpRequest) -> bool | None:
    """True for the right bearer token; False for a missing or wrong one; None when metrics
    are not served (no ``METRICS_TOKEN`` and DEBUG off: production without a token)."""
    expected = str(settings.METRICS_TOKEN)
    if not expected:
        return True if settings.DEBUG else None
    scheme, _space, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), expected.encode()
    )
