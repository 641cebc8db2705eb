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
    if context is not None:
        structlog.contextvars.bind_contextvars(request_id=context.request_id)


def bind_actor(*, actor_type: str, actor_id: str, actor_role: str = "") -> None:
    """Record the authenticated caller in the current context and in log lines."""
    _current.set(
        replace(get_context(), actor_type=actor_type, actor_id=actor_id, actor_role=actor_role)
    )
    structlog.contextvars.bind_contextvars(actor_type=actor_type, actor_id=actor_id)


def system_context(name: str) -> WorkContext:
    """The context of a Celery task or management command named ``name``."""
    return WorkContext(request_id=new_request_id(), actor_type="system", actor_id=name)
