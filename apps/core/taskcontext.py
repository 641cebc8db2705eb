"""The request id travels from a request into every task it queued, and into their log lines.

``before_task_publish`` adds the current request id to the headers of every task message
(unless the publisher set one, as the outbox relay does with the id stored on the row);
``task_prerun`` puts the incoming id in the worker's context before the task runs, so
``system_context`` and every structlog line of the task carry it, with the task's name and id;
``task_postrun`` clears it. Connected once, from ``config/celery.py``.
"""

from __future__ import annotations

from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

from apps.core.context import (
    TaskRun,
    WorkContext,
    get_context,
    new_request_id,
    set_context,
    set_task_run,
)

# Message header carrying the request id (a plain string; tasks never take it as an argument).
REQUEST_ID_HEADER = "guichet_request_id"


def task_headers(request_id: str) -> dict[str, str]:
    """Headers for ``apply_async(headers=...)`` that queue a task under ``request_id``."""
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def add_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """``before_task_publish``: stamp the message with the current request id."""
    if headers is None or headers.get(REQUEST_ID_HEADER):
        return
    headers[REQUEST_ID_HEADER] = get_context().request_id


def bind_task(task: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    """``task_prerun``: run the task under the request id it was queued with.

    A task run eagerly (``.apply()``) runs inside its caller, whose context it keeps.
    """
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    incoming = getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None)
    request_id = str(incoming) if incoming else new_request_id()
    name = str(getattr(task, "name", "") or "task")
    set_task_run(TaskRun(name=name, task_id=str(task_id or ""), request_id=request_id))
    set_context(WorkContext(request_id=request_id, actor_type="system", actor_id=name))


def unbind_task(task: Any = None, **kwargs: Any) -> None:
    """``task_postrun``: forget the task's context (the thread runs other tasks next)."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    set_task_run(None)
    set_context(None)


def connect_signals() -> None:
    """Connect the three receivers (idempotent: each has a ``dispatch_uid``)."""
    before_task_publish.connect(add_request_id, dispatch_uid="guichet_request_id_publish")
    task_prerun.connect(bind_task, dispatch_uid="guichet_request_id_prerun")
    task_postrun.connect(unbind_task, dispatch_uid="guichet_request_id_postrun")
