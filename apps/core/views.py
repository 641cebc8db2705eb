"""Operational endpoints: liveness, readiness, metrics."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from apps.core import health, metrics
from apps.core.exceptions import problem_document


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
    """Prometheus metrics."""
    payload, content_type = metrics.render()
    return HttpResponse(payload, content_type=content_type)
