"""Publishing outbox deliveries to the broker over pooled, fail-fast connections.

The relay runs in a request's after-commit hook, so publishing must never hold the request
when the broker is down or hung: one connection attempt (no kombu retries) and, on Redis,
socket timeouts of ``PUBLISH_TIMEOUT``. The rows it could not publish stay due for the
periodic relay.

Connections come from a pool of this module's own (``broker_pool_limit`` connections per
process and broker URL) rather than from Celery's ``app.pool``: Celery's pool uses the app's
connection settings, whose retries are right for a worker and wrong for a request. A pool
belongs to the process that made it (after a fork, the child makes its own and never touches
the parent's sockets).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from django.conf import settings

from apps.core.taskcontext import task_headers

# Seconds to wait for the broker: TCP handshake, and (Redis) each reply.
PUBLISH_TIMEOUT = 1.0
# A pooled connection that fails faster than this was most likely closed while idle (a broker
# restart, an idle timeout): it is replaced by a fresh one once. A slower failure is a broker
# that does not answer, and is not waited for twice.
STALE_CONNECTION_SECONDS = PUBLISH_TIMEOUT / 2

_pools: dict[tuple[int, str], Any] = {}
_pools_lock = threading.Lock()


def _transport_options(url: str) -> dict[str, Any]:
    # One connection attempt: kombu's default is to retry for seconds.
    options: dict[str, Any] = {"max_retries": 0}
    if url.startswith(("redis://", "rediss://")):
        # Without them redis-py waits for the operating system (minutes) on a hung broker.
        # Not retried on a timeout either (the workers' own connections are: settings).
        options |= {
            "socket_connect_timeout": PUBLISH_TIMEOUT,
            "socket_timeout": PUBLISH_TIMEOUT,
            "retry_on_timeout": False,
        }
    return options


def _pool() -> Any:
    """The connection pool of this process for the configured broker URL (made on first use)."""
    from config.celery import app

    # The URL from settings (like the readiness check): what settings say is what is tested.
    url = str(settings.CELERY_BROKER_URL)
    key = (os.getpid(), url)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                if any(pid != key[0] for pid, _ in _pools):
                    _pools.clear()  # inherited from the parent: its sockets are not ours to use
                connection = app.connection_for_write(
                    url,
                    connect_timeout=PUBLISH_TIMEOUT,
                    transport_options=_transport_options(url),
                )
                # broker_pool_limit 0 or None: no pooling (Celery's meaning), each use connects.
                pool = connection.Pool(limit=app.conf.broker_pool_limit)
                _pools[key] = pool
    return pool


@contextmanager
def broker_publisher() -> Iterator[Callable[[UUID, str], None]]:
    """``publish(message_id, request_id)``: queue one ``outbox.deliver`` task, over one pooled
    connection, under the request id stored on the row (its log lines carry it).

    Publishing is not retried, except once on a fresh connection when the pooled one turns out
    to have been closed while idle. After a failure the connection is dropped (the next user
    of the pool reconnects) and ``publish`` must not be called again.
    """
    from apps.outbox.tasks import outbox_deliver
    from config.celery import app

    # Waiting for a free connection is bounded too; LimitExceeded is a publish failure.
    connection = _pool().acquire(block=True, timeout=PUBLISH_TIMEOUT)
    may_reconnect = connection.connected  # only a connection that was open can have gone stale
    producer = app.amqp.Producer(connection, auto_declare=False)

    def send(message_id: UUID, request_id: str) -> None:
        # ``producer`` is a real apply_async option the type stubs do not list.
        cast(Any, outbox_deliver).apply_async(
            kwargs={"message_id": str(message_id)},
            producer=producer,
            retry=False,
            headers=task_headers(request_id),
        )

    def publish(message_id: UUID, request_id: str = "") -> None:
        nonlocal may_reconnect, producer
        started = time.monotonic()
        try:
            send(message_id, request_id)
        except Exception:
            connection.collect()  # drop the sockets without talking to the broker
            if not may_reconnect or time.monotonic() - started > STALE_CONNECTION_SECONDS:
                raise
            may_reconnect = False
            producer = app.amqp.Producer(connection, auto_declare=False)
            try:
                send(message_id, request_id)
            except Exception:
                connection.collect()
                raise
        may_reconnect = False  # it answered: a later failure is the broker's, not staleness

    try:
        yield publish
    finally:
        connection.release()
