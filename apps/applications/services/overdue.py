"""Overdue applications: the deadline passed and the agency has not decided."""

from __future__ import annotations

from datetime import datetime

import structlog
from django.db import transaction
from django.utils import timezone

from apps.applications.clock import overdue_q
from apps.applications.models import Application
from apps.audit.services import audit_record

logger = structlog.get_logger(__name__)

BATCH_SIZE = 500


@transaction.atomic
def applications_flag_overdue(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> int:
    """Flag (once) the applications of the current agency whose deadline has passed.

    Only files whose clock runs: one waiting for the citizen's answer is never overdue.

    Each flag is audited (``application.overdue_flagged``); reminders to the people concerned
    are the notifications app's (``apps.notifications.reminders``).
    Rows locked by a transaction in progress are skipped (a decision is probably being made);
    the next run picks them up if they are still open. Returns how many were flagged.
    Safe to run twice: flagged rows are never flagged again.
    """
    moment = now or timezone.now()
    due = list(
        Application.objects.select_for_update(skip_locked=True)
        .filter(overdue_q(moment), overdue_flagged_at__isnull=True)
        .order_by("due_at")[:limit]
    )
    for application in due:
        application.overdue_flagged_at = moment
        audit_record(
            action="application.overdue_flagged",
            target_type="application",
            target_id=application.id,
            changes={"overdue_flagged_at": {"old": None, "new": moment.isoformat()}},
        )
    Application.objects.bulk_update(due, ["overdue_flagged_at"])
    if due:
        logger.info("applications_flagged_overdue", count=len(due))
    return len(due)
