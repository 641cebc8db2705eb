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

Late values: ``late_value(claim)`` returns a placeholder to write *now* (in queued statements,
in an answer being built); ``claim`` (one statement, e.g. the agency's reference counter) runs
only when the queue is about to be sent, its result replaces the placeholder in every queued
statement and in the statement they ride with, and ``resolved(data)`` gives the real value
back in Python objects afterwards. The submit uses it for its reference: the counter's row is
locked by the claim, then one round trip of writes, then ``COMMIT`` — no Python work in between.

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
import uuid
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


_LATE_VALUE = re.compile(r"^[A-Za-z0-9._:/-]*$")


class _Pipeline:
    def __init__(self) -> None:
        self.queue: list[str] = []
        self.paused = 0
        self.late: dict[str, Callable[[], str]] = {}

    def settle(self, statements: list[str]) -> list[str]:
        """Run the pending claims (pipeline paused) and put their values in ``statements``."""
        if not self.late:
            return statements
        pending, self.late = self.late, {}
        values = _resolved_values()
        self.paused += 1
        try:
            for token, claim in pending.items():
                value = claim()
                if not _LATE_VALUE.match(value):
                    raise ValueError("a late value must be plain text (letters, digits, -._:/)")
                values[token] = value
        finally:
            self.paused -= 1
        out = []
        for statement in statements:
            for token in pending:
                statement = statement.replace(token, values[token])
            out.append(statement)
        return out

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
        if many:
            self.flush(execute, context)
            return execute(sql, params, many, context)
        if _queueable(sql):
            self.queue.append(_substitute(_bind(sql, params)))
            return None
        if not self.queue and not self.late and not getattr(_state, "resolved", None):
            return execute(sql, params, many, context)
        statements = self.settle([*self.queue, _substitute(_bind(sql, params))])
        self.queue = []
        result = execute(";\n".join(statements), None, False, context)
        raw = context["cursor"].cursor
        while raw.nextset():
            pass
        return result

    def flush(self, execute: Callable[..., Any], context: dict[str, Any]) -> None:
        if not self.queue and not self.late:
            return
        statements, self.queue = self.settle(self.queue), []
        if statements:
            execute(";\n".join(statements), None, False, context)


def _resolved_values() -> dict[str, str]:
    values = getattr(_state, "resolved", None)
    if values is None:
        values = _state.resolved = {}
    return values


def late_value(claim: Callable[[], str]) -> str:
    """A placeholder for the result of ``claim``, run just before the queued writes are sent.

    Outside ``pipelined_writes`` the claim runs at once and its value is returned.
    """
    pipeline = getattr(_state, "pipeline", None)
    if pipeline is None:
        return claim()
    token = f"LATE{uuid.uuid4().hex}"
    pipeline.late[token] = claim
    return token


def resolved(value: Any) -> Any:
    """``value`` with the placeholders of settled late values replaced (dicts, lists, str)."""
    values = getattr(_state, "resolved", None)
    if not values:
        return value
    if isinstance(value, str):
        for token, real in values.items():
            if token in value:
                value = value.replace(token, real)
        return value
    if isinstance(value, dict):  # in place: keeps DRF's ReturnDict and its serializer
        for key in list(value):
            value[key] = resolved(value[key])
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = resolved(item)
        return value
    return value


def _substitute(statement: str) -> str:
    """``statement`` with the placeholders of late values settled earlier replaced."""
    for token, value in (getattr(_state, "resolved", None) or {}).items():
        if token in statement:
            statement = statement.replace(token, value)
    return statement


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
    _state.resolved = {}
    try:
        with connection.execute_wrapper(pipeline):
            yield
            if pipeline.queue or pipeline.late:
                statements, pipeline.queue = pipeline.settle(pipeline.queue), []
                pipeline.paused += 1
                if statements:
                    with connection.cursor() as cursor:
                        cursor.execute(";\n".join(statements))
    finally:
        pipeline.queue = []
        pipeline.late = {}
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
    if pipeline.queue or pipeline.late:
        statements, pipeline.queue = pipeline.settle(pipeline.queue), []
        pipeline.paused += 1
        try:
            if statements:
                with connection.cursor() as cursor:
                    cursor.execute(";\n".join(statements))
        finally:
            pipeline.paused -= 1
    pipeline.paused += 1
    try:
        yield
    finally:
        pipeline.paused -= 1
