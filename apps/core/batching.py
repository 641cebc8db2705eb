"""Pipelined writes: the statements a transaction does not need an answer from ride along with
the next statement it does need an answer from, in one round trip.

Inside ``pipelined_writes()`` (on the default connection):

* ``INSERT`` without ``RETURNING``, ``SAVEPOINT`` and ``RELEASE SAVEPOINT`` are not sent at
  once: they are bound on the client (Django's psycopg cursors bind on the client) and queued;
* so is any statement run inside ``deferred()`` (e.g. a ``QuerySet.update`` whose row count
  nobody reads);
* the next other statement (a read, an ``UPDATE`` whose row count Django checks, an
  ``INSERT ... RETURNING``, ``ROLLBACK TO SAVEPOINT``) is sent *together with* the queue as
  one multi-statement query; the cursor is moved to that statement's result, so its rows
  and row count are as usual;
* leaving the block sends what is left (one round trip).

What changes for the caller: an error of a queued statement (a unique violation, say) is
raised by the statement it rides with, not where it was written. So code that catches an
``IntegrityError`` of its own ``INSERT`` must not run inside the block (or must leave it with
``immediate()``). Used by the hot write paths (``apps.applications.services.transitions`` and
the idempotency wrapper): a submit or a decision costs a handful of round trips, and the one
statement that takes a per-agency lock (the reference counter) is followed by a single round
trip before ``COMMIT``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

_state = threading.local()

_ALWAYS_QUEUED = ("SAVEPOINT ", "RELEASE SAVEPOINT ")
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


def _queueable(sql: str) -> bool:
    head = sql.lstrip()[:20].upper()
    if head.startswith(_ALWAYS_QUEUED):
        return True
    if getattr(_state, "deferring", 0):
        return True
    return head.startswith("INSERT ") and _RETURNING.search(sql) is None


class _Pipeline:
    def __init__(self) -> None:
        self.queue: list[str] = []
        self.paused = 0

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        if self.paused:
            return execute(sql, params, many, context)
        if not many and _queueable(sql):
            self.queue.append(_bind(sql, params))
            return None
        if not self.queue:
            return execute(sql, params, many, context)
        if many:
            self.flush(execute, context)
            return execute(sql, params, many, context)
        statements = [*self.queue, _bind(sql, params)]
        self.queue = []
        result = execute(";\n".join(statements), None, False, context)
        raw = context["cursor"].cursor
        while raw.nextset():
            pass
        return result

    def flush(self, execute: Callable[..., Any], context: dict[str, Any]) -> None:
        if not self.queue:
            return
        statements, self.queue = self.queue, []
        execute(";\n".join(statements), None, False, context)


def _bind(sql: str, params: Any) -> str:
    if params is None:
        return sql
    return str(connection.ops.compose_sql(sql, params))  # type: ignore[attr-defined]


@contextmanager
def pipelined_writes() -> Iterator[None]:
    """Queue the writes of the block and send them with the next read (see the module)."""
    current = getattr(_state, "pipeline", None)
    if current is not None:  # nested: the outer block sends everything
        yield
        return
    pipeline = _Pipeline()
    _state.pipeline = pipeline
    try:
        with connection.execute_wrapper(pipeline):
            yield
            if pipeline.queue:
                pipeline.paused += 1
                with connection.cursor() as cursor:
                    statements, pipeline.queue = pipeline.queue, []
                    cursor.execute(";\n".join(statements))
    finally:
        pipeline.queue = []
        _state.pipeline = None


@contextmanager
def deferred() -> Iterator[None]:
    """Inside ``pipelined_writes``: queue every statement of the block (answers unused)."""
    _state.deferring = getattr(_state, "deferring", 0) + 1
    try:
        yield
    finally:
        _state.deferring -= 1


@contextmanager
def immediate() -> Iterator[None]:
    """Inside ``pipelined_writes``: send the queue now and run the block's statements as usual."""
    pipeline = getattr(_state, "pipeline", None)
    if pipeline is None:
        yield
        return
    if pipeline.queue:
        with connection.cursor() as cursor:
            pipeline.paused += 1
            try:
                statements, pipeline.queue = pipeline.queue, []
                cursor.execute(";\n".join(statements))
            finally:
                pipeline.paused -= 1
    pipeline.paused += 1
    try:
        yield
    finally:
        pipeline.paused -= 1
