# ruff: noqa: N999  (gunicorn.conf.py is the name gunicorn itself looks for)
"""Gunicorn settings for Guichet: ``gunicorn -c config/gunicorn.conf.py config.wsgi:application``.

Used by ``make run`` (two workers on 127.0.0.1) and by the production image. Every value comes
from an environment variable listed in README.md.
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path
from typing import Any


def _env_int(name: str, default: int) -> int:
    """An integer from the environment, or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _env_bool(name: str, default: bool) -> bool:
    """A boolean from the environment (1/true/yes/on), or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip().lower()
    return raw in ("1", "true", "yes", "on") if raw else default


def _default_workers() -> int:
    """``2 * cores + 1``, capped at 8: each thread may hold a database connection."""
    try:
        cores = len(os.sched_getaffinity(0))  # the CPUs this container may actually use
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return min(2 * cores + 1, 8)


bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")]
workers = _env_int("GUNICORN_WORKERS", _default_workers())
# Threads let a worker keep serving while one request waits on PostgreSQL or a slow client.
# Gunicorn's gthread, except that a new connection waits for its first request in the worker's
# poller instead of holding a thread for up to 5 s (config/gunicorn_worker.py).
worker_class = (
    os.environ.get("GUNICORN_WORKER_CLASS", "").strip()
    or "config.gunicorn_worker.PollingThreadWorker"
)
threads = _env_int("GUNICORN_THREADS", 4)
# Open connections one gthread worker takes at most before leaving new ones to the others.
worker_connections = _env_int("GUNICORN_WORKER_CONNECTIONS", 1000)
# Import the application once, in the master, and fork workers that are ready at once. Without
# it every worker imports Django itself, at start and again each time it is recycled
# (max_requests): about a second of CPU each, which on 2 cores showed as stalls under load
# (benches/README.md). Nothing opens a database connection at import; post_fork below drops
# any the master might hold anyway, and the hot-key store reopens itself after a fork.
preload_app = _env_bool("GUNICORN_PRELOAD", True)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak can never take a worker down; the jitter keeps
# them from all restarting at the same moment.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)

# The application logs every request as one JSON line (request id, tenant, duration);
# gunicorn's own access log would duplicate it without that context.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "guichet"

# Heartbeat files on tmpfs: a disk-backed /tmp can stall workers (gunicorn's FAQ).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Gunicorn's runtime control socket is not used; it would otherwise be created in $HOME.
control_socket_disable = True


def _reset_prometheus_dir() -> None:
    """Empty the Prometheus multiprocess directory: samples of a previous run are stale.

    Done while gunicorn reads this file, before the application is preloaded: the preloaded
    app opens its metric files in that directory, so it must exist (and be clean) by then.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    if path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


_reset_prometheus_dir()


def when_ready(server: Any) -> None:
    """With the application preloaded, also import every view, serializer and URL pattern in
    the master (Django does it on the first request otherwise, about 0.4 s of CPU that every
    new or recycled worker would pay again)."""
    if not preload_app:
        return
    from django.conf import settings
    from django.urls import get_resolver

    for urlconf in {settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF}:
        get_resolver(urlconf).reverse_dict  # noqa: B018 - imports and indexes the patterns


def pre_fork(server: Any, worker: Any) -> None:
    """Before each fork: move everything the master holds (the preloaded application) out of
    the garbage collector's reach. A worker's full collection then skips those ~150,000 objects
    (measured: 90-140 ms per full collection before, nothing after) and never writes to their
    pages, which stay shared with the master (Python's documentation of ``gc.freeze``)."""
    if preload_app:
        gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """In a new worker: never use a database connection (or pool) inherited from the master."""
    if not preload_app:
        return
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        # Forget the socket without closing it: the master still owns it.
        connection.connection = None
    pools = getattr(type(connections["default"]), "_connection_pools", None)
    if isinstance(pools, dict):
        pools.clear()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the aggregated metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
