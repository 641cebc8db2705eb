"""Database access from the gateway's event loop.

Like channels' ``database_sync_to_async`` (a thread-sensitive ``sync_to_async`` that drops
unusable or expired connections around the call, as Django does around a request), except
inside an atomic block, where closing the connection would break the caller's transaction
(tests run each test in one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import close_old_connections, connection

T = TypeVar("T")


class _DatabaseSyncToAsync(SyncToAsync):
    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        if not connection.in_atomic_block:
            close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            if not connection.in_atomic_block:
                close_old_connections()


def db_async(function: Callable[..., T]) -> Callable[..., Any]:
    """``function`` as a coroutine function run in a worker thread.

    By default (``REALTIME_SYNC_THREAD_SENSITIVE`` off) in the loop's thread pool, each thread
    with its own database connection, so a storm of handshakes (token checks, connection
    leases) is not queued behind one thread; tests turn it on, so the calls come back to the
    test's thread and see its transaction.
    """
    sensitive = bool(getattr(settings, "REALTIME_SYNC_THREAD_SENSITIVE", False))
    return _DatabaseSyncToAsync(function, thread_sensitive=sensitive)
