"""Deadline reminders: agents hear about applications due within a few working days, once.

For each application of the current agency whose clock runs (not waiting for the citizen's
answer, see ``apps.applications.clock``) and whose deadline falls within
``NOTIFICATIONS_DEADLINE_WARNING_DAYS`` working days (and has not passed: overdue
applications are flagged by the applications app), the assignee is notified; an application
nobody holds yet goes to the agency's supervisors and administrators. "Once" is the outbox's
de-duplication key: application, deadline and recipient, so a new deadline (after a request
for information) gets its own reminder.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.core.tenancy import current_schema
from apps.notifications.rendering import Template
from apps.notifications.services import notification_enqueue

logger = structlog.get_logger(__name__)

BATCH_SIZE = 500


@transaction.atomic
def deadline_reminders_enqueue(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> int:
    """Queue the reminders due in the current agency; returns how many were written."""
    from apps.applications.models import Application
    from apps.applications.workflow import CLOCK_RUNNING
    from apps.catalogue.calendar import add_working_days

    moment = now or timezone.now()
    horizon = add_working_days(moment, int(settings.NOTIFICATIONS_DEADLINE_WARNING_DAYS))
    applications = list(
        Application.objects.filter(
            status__in=sorted(CLOCK_RUNNING), due_at__gt=moment, due_at__lte=horizon
        )
        .order_by("due_at")
        .values("pk", "assignee_id", "due_at")[:limit]
    )
    if not applications:
        return 0
    supervisors: list[object] | None = None
    written = 0
    for row in applications:
        due_at = row["due_at"]
        assert due_at is not None  # filtered on
        if row["assignee_id"] is not None:
            recipients: list[object] = [row["assignee_id"]]
        else:
            if supervisors is None:
                supervisors = list(
                    Membership.objects.filter(
                        agency__schema_name=current_schema(),
                        is_active=True,
                        user__is_active=True,
                        role__in=[Role.SUPERVISOR, Role.AGENCY_ADMIN],
                    ).values_list("user_id", flat=True)
                )
            recipients = list(supervisors)
        for recipient_id in recipients:
            written += len(
                notification_enqueue(
                    recipient_id=recipient_id,  # type: ignore[arg-type]
                    template=Template.DEADLINE_APPROACHING,
                    application_id=row["pk"],
                    dedupe_key=(f"deadline:{row['pk']}:{due_at.isoformat()}:{recipient_id}"),
                )
            )
    logger.info("deadline_reminders_queued", count=written)
    return written
