"""Prometheus metrics exposed at ``/metrics``.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` so every worker's samples
are aggregated; without it each process reports its own.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("guichet_http_requests_total", "HTTP requests", ["method", "status"])
REQUEST_SECONDS = Histogram(
    "guichet_http_request_duration_seconds",
    "HTTP request duration",
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


def observe_request(*, method: str, status: int, seconds: float) -> None:
    """Count one finished request."""
    REQUESTS.labels(method=method, status=str(status)).inc()
    REQUEST_SECONDS.observe(seconds)


def render() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, aggregated across workers when configured."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
