"""The public host's URLs plus the floor: a bare Django JSON view.

The floor goes through the same gunicorn configuration, the same middleware and the same
settings as every endpoint measured, but touches no database, no DRF, no authentication: its
throughput is the most this stack can serve on this machine, and every endpoint is reported as
a fraction of it, measured in the same run.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls_public import handler404, handler500
from config.urls_public import urlpatterns as public_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]


def bench_floor(request: HttpRequest) -> JsonResponse:
    """A small JSON document (the worker's pid lets the bench see every worker is up)."""
    return JsonResponse({"status": "ok", "pid": os.getpid()})


urlpatterns = [path("bench/floor", bench_floor, name="bench-floor"), *public_urlpatterns]
