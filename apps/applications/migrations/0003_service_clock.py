"""The service clock stops while the citizen is asked for information.

Existing applications are recomputed from their history: every completed pause (a request for
information followed by the citizen's answer, or a withdrawal) moves the deadline forward by the
working days it lasted, weekends and the agency's holidays skipped; an application waiting for
its citizen now has its clock stopped since the last request. A file flagged overdue whose new
deadline is in the future, or that waits for its citizen, is no longer flagged.

The working-day arithmetic is copied here (frozen) rather than imported, so this migration keeps
its meaning whatever ``apps.catalogue.calendar`` becomes.
"""

from datetime import date, datetime, timedelta

from django.db import migrations, models
from django.utils import timezone

INFO_REQUESTED = "info_requested"
RUNNING = ("submitted", "in_review")


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _working(day: date, holidays: set) -> bool:
    return day.weekday() < 5 and day not in holidays


def _between(start: datetime, end: datetime, holidays: set) -> int:
    first, last = _local(start).date(), _local(end).date()
    count = 0
    day = first
    while day < last:
        day += timedelta(days=1)
        if _working(day, holidays):
            count += 1
    return count


def _add(start: datetime, days: int, holidays: set) -> datetime:
    local = _local(start)
    day = local.date()
    while days:
        day += timedelta(days=1)
        if _working(day, holidays):
            days -= 1
    return datetime.combine(day, local.timetz())


def recompute(apps, schema_editor):
    Application = apps.get_model("applications", "Application")
    HistoryEntry = apps.get_model("applications", "HistoryEntry")
    PublicHoliday = apps.get_model("catalogue", "PublicHoliday")
    holidays = set(PublicHoliday.objects.values_list("date", flat=True))
    now = timezone.now()
    touched = (
        HistoryEntry.objects.filter(to_status=INFO_REQUESTED)
        .values_list("application_id", flat=True)
        .distinct()
    )
    for application in Application.objects.filter(pk__in=touched).iterator(chunk_size=500):
        paused_at = None
        total = 0
        entries = HistoryEntry.objects.filter(application_id=application.pk).order_by(
            "occurred_at", "id"
        )
        for entry in entries:
            if entry.to_status == INFO_REQUESTED and paused_at is None:
                paused_at = entry.occurred_at
            elif paused_at is not None and entry.to_status != INFO_REQUESTED:
                days = _between(paused_at, entry.occurred_at, holidays)
                if entry.to_status in RUNNING:
                    total += days
                paused_at = None
        if application.status != INFO_REQUESTED:
            paused_at = None
        elif paused_at is None:  # no history row for the pause (should not happen)
            paused_at = application.updated_at
        due_at = application.due_at
        if due_at is not None and total:
            due_at = _add(due_at, total, holidays)
        flagged = application.overdue_flagged_at
        if flagged is not None and (paused_at is not None or (due_at and due_at > now)):
            flagged = None
        Application.objects.filter(pk=application.pk).update(
            due_at=due_at,
            clock_paused_at=paused_at,
            paused_working_days=total,
            overdue_flagged_at=flagged,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0002_people_protected_by_the_database"),
        ("catalogue", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="clock_paused_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="clock stopped at"),
        ),
        migrations.AddField(
            model_name="application",
            name="paused_working_days",
            field=models.PositiveIntegerField(default=0, verbose_name="working days stopped"),
        ),
        migrations.RunPython(recompute, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="application",
            constraint=models.CheckConstraint(
                condition=models.Q(("clock_paused_at__isnull", False), ("status", "info_requested"))
                | models.Q(
                    models.Q(("status", "info_requested"), _negated=True),
                    ("clock_paused_at__isnull", True),
                ),
                name="applications_clock_paused_while_info_requested",
            ),
        ),
    ]
