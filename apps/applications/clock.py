"""The service clock: the agency's deadline, counted in its working days, stopped while it waits.

The deadline (``Application.due_at``) is set at submission: the service's number of working
days after it, skipping weekends and the agency's own public holidays
(``apps.catalogue.calendar``). When an agent requests information the clock stops
(``clock_paused_at``); when the citizen answers it resumes and the deadline moves forward by
the working days it was stopped (``paused_working_days`` keeps the running total). A file
waiting on its citizen is therefore never overdue, never "due soon" and gets no reminder:
every such read filters on ``CLOCK_RUNNING`` statuses (``clock_running_q`` below).

A pause is counted in whole working days, like the deadline itself: asked on Monday at 10:00
and answered on Wednesday at 09:00 gives the agency two more working days, at the same time
of day as before; asked and answered on the same day changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone

from apps.applications.workflow import CLOCK_RUNNING, Status
from apps.catalogue.calendar import add_working_days, working_days_between

# "Due soon" on the dashboard and in the queue: within this many working days.
DUE_SOON_WORKING_DAYS = 2


def clock_running_q() -> Q:
    """Applications whose clock runs (the agency has them, not the citizen)."""
    return Q(status__in=sorted(CLOCK_RUNNING))


def overdue_q(now: datetime | None = None) -> Q:
    """Running clock and deadline passed."""
    return clock_running_q() & Q(due_at__lt=now or timezone.now())


def due_soon_q(now: datetime | None = None, days: int = DUE_SOON_WORKING_DAYS) -> Q:
    """Running clock, deadline not passed, within ``days`` working days (one holiday query)."""
    moment = now or timezone.now()
    return clock_running_q() & Q(due_at__gte=moment, due_at__lte=add_working_days(moment, days))


def paused_days(
    paused_at: datetime, resumed_at: datetime, *, holidays: set[date] | None = None
) -> int:
    """Working days the clock stood still between a request for information and its answer."""
    return max(0, working_days_between(paused_at, resumed_at, holidays=holidays))


@dataclass(frozen=True)
class Resumed:
    """What resuming the clock changes."""

    due_at: datetime | None
    paused_working_days: int


def resumed(
    *,
    due_at: datetime | None,
    paused_at: datetime,
    resumed_at: datetime,
    holidays: set[date] | None = None,
) -> Resumed:
    """The deadline once the clock restarts at ``resumed_at`` after stopping at ``paused_at``."""
    days = paused_days(paused_at, resumed_at, holidays=holidays)
    if due_at is None or days == 0:
        return Resumed(due_at=due_at, paused_working_days=days)
    return Resumed(
        due_at=add_working_days(due_at, days, holidays=holidays), paused_working_days=days
    )


def clock_apply(application: object, *, target: str | None, now: datetime) -> None:
    """Stop, resume or leave the clock of ``application`` for a transition to ``target``.

    Called by ``application_transition`` before it saves (same transaction, same audit event:
    ``due_at`` and ``clock_paused_at`` are audited fields).
    """
    paused_at: datetime | None = application.clock_paused_at  # type: ignore[attr-defined]
    if target == Status.INFO_REQUESTED:
        if paused_at is None:
            application.clock_paused_at = now  # type: ignore[attr-defined]
        return
    if paused_at is None or target is None:
        return  # running, or a reassignment while paused: nothing changes
    if target in CLOCK_RUNNING:
        result = resumed(
            due_at=application.due_at,  # type: ignore[attr-defined]
            paused_at=paused_at,
            resumed_at=now,
        )
        application.due_at = result.due_at  # type: ignore[attr-defined]
        application.paused_working_days += result.paused_working_days  # type: ignore[attr-defined]
        if result.due_at is not None and result.due_at > now:
            # Flagged overdue before the pause, on time again now: it may be flagged anew.
            application.overdue_flagged_at = None  # type: ignore[attr-defined]
    application.clock_paused_at = None  # type: ignore[attr-defined]


def working_days_left(due_at: datetime | None, now: datetime | None = None) -> int | None:
    """Working days from now to the deadline (negative when overdue), None without one."""
    if due_at is None:
        return None
    return working_days_between(now or timezone.now(), due_at)
