"""The context of the work being done: request id, source address, actor.

Set by ``RequestContextMiddleware`` for HTTP requests, by authentication once the caller is
known, and by Celery and management commands as the ``system`` actor. Services read it (the
audit trail does) instead of taking the request as an argument.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, replace

import structlog


@dataclass(frozen=True)
class WorkContext:
    """Who is acting, from where, under which request id."""

    request_id: str
    ip: str | None = None
    user_agent: str = ""
    actor_type: str = "anonymous"  # anonymous, user, partner, system
    actor_id: str = ""
    actor_role: str = ""


_current: ContextVar[WorkContext | None] = ContextVar("guichet_work_context", default=None)


@dataclass(frozen=True)
class TaskRun:
    """The Celery task being run: its name, id and the request id it was queued under."""

    name: str
    task_id: str
    request_id: str


# Set by the Celery signals of apps/core/taskcontext.py around each task.
_task: ContextVar[TaskRun | None] = ContextVar("guichet_task_run", default=None)


def new_request_id() -> str:
    """A fresh request id (UUID4 hex)."""
    return uuid.uuid4().hex


def get_context() -> WorkContext:
    """The current context; outside any request or task, the system actor."""
    current = _current.get()
    if current is None:
        return WorkContext(request_id=new_request_id(), actor_type="system", actor_id="system")
    return current


def set_context(context: WorkContext | None) -> None:
    """Replace the current context and the log context that mirrors it."""
    _current.set(context)
    structlog.contextvars.clear_contextvars()
    task = _task.get()
    if task is not None:
        structlog.contextvars.bind_contextvars(task=task.name, task_id=task.task_id)
    if context is not None:
        structlog.contextvars.bind_contextvars(request_id=context.request_id)


def current_task_run() -> TaskRun | None:
    """The Celery task this thread is running, if any."""
    return _task.get()


def set_task_run(run: TaskRun | None) -> None:
    """Mark the start (or, with None, the end) of a Celery task in this thread."""
    _task.set(run)


def bind_actor(*, actor_type: str, actor_id: str, actor_role: str = "") -> None:
    """Record the authenticated caller in the current context and in log lines."""
    _current.set(
        replace(get_context(), actor_type=actor_type, actor_id=actor_id, actor_role=actor_role)
    )
    structlog.contextvars.bind_contextvars(actor_type=actor_type, actor_id=actor_id)


def system_context(name: str) -> WorkContext:
    """The context of a Celery task or management command named ``name``.

    Inside a task, the request id is the one of the request (or task) that queued it, so the
    task's log lines and audit events can be found from the request that caused them.
    """
    task = _task.get()
    request_id = task.request_id if task is not None else new_request_id()
    return WorkContext(request_id=request_id, actor_type="system", actor_id=name)
