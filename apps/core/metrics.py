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
