"""Prometheus metrics exposed at ``/metrics``.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` so every worker's samples
are aggregated; without it each process reports its own.

Request metrics are labelled by route template (``api/v1/applications/{pk}/``, never the raw
path), method, status and agency slug: every label comes from a bounded set (the URL
configuration, the agencies), so a scanner requesting random paths adds no series. The
business gauges (apps/core/business_metrics.py) are collected at scrape time.
"""

from __future__ import annotations

import os
import re

from django.http import HttpRequest
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from apps.core.business_metrics import BusinessCollector

# Route label of requests no URL pattern matched (404s, scanners) and of static files.
UNMATCHED_ROUTE = "unmatched"
STATIC_ROUTE = "static"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "guichet_http_requests_total",
    "HTTP requests",
    ["route", "method", "status", "agency"],
)
REQUEST_SECONDS = Histogram(
    "guichet_http_request_duration_seconds",
    "HTTP request duration",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
FAIL_OPEN = Counter(
    "guichet_fail_open_total", "Checks that failed open because a dependency was down", ["check"]
)

OUTAGES = Counter(
    "guichet_outage_responses_total",
    "Requests answered 503/507 because a part was down",
    ["part"],
)
HOTKEYS_ERRORS = Counter(
    "guichet_hotkeys_errors_total",
    "Hot-key store failures by kind (map_full, disk_full, write_failed, read_failed, ...)",
    ["reason"],
)
HOTKEYS_REOPENED = Counter(
    "guichet_hotkeys_reopened_total", "Hot-key store environments reopened after a failure"
)
# 1 ready, 0 not, per part, as last seen by /readyz in any process (the most recent wins).
DEPENDENCY_READY = Gauge(
    "guichet_dependency_ready",
    "Whether a part answered the last readiness check (1) or not (0)",
    ["part"],
    multiprocess_mode="mostrecent",
)

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_template(route: str) -> str:
    """``^api/v1/x/(?P<pk>[^/.]+)/$`` or ``api/v1/x/<uuid:pk>/`` -> ``api/v1/x/{pk}/``."""
    text = _GROUP.sub(r"{\1}", route)
    text = _CONVERTER.sub(r"{\1}", text)
    return text.replace("^", "").replace("$", "").replace("\\", "") or "/"


def request_route(request: HttpRequest) -> str:
    """The route template that served ``request`` (bounded: comes from the URL patterns)."""
    from django.conf import settings

    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return route_template(str(match.route))
    if request.path.startswith(str(settings.STATIC_URL)):
        return STATIC_ROUTE
    return UNMATCHED_ROUTE


def request_agency(request: HttpRequest) -> str:
    """The agency slug of ``request`` (``public``, or ``none`` for a host no agency has)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return "none"
    return str(getattr(tenant, "slug", "") or getattr(tenant, "schema_name", "none"))


def observe_request(request: HttpRequest, *, status: int, seconds: float) -> None:
    """Count one finished request."""
    method = request.method if request.method in KNOWN_METHODS else "other"
    route = request_route(request)
    REQUESTS.labels(
        route=route, method=method, status=str(status), agency=request_agency(request)
    ).inc()
    REQUEST_SECONDS.labels(route=route, method=method).observe(seconds)


_business = CollectorRegistry(auto_describe=False)
_business.register(BusinessCollector())


def render() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, aggregated across workers when configured."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        process_metrics = generate_latest(registry)
    else:
        process_metrics = generate_latest(REGISTRY)
    return process_metrics + generate_latest(_business), CONTENT_TYPE_LATEST
