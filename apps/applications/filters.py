"""Filters of the staff work queue (django-filter); invalid values are 400 with field errors."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from apps.applications.models import Application
from apps.applications.selectors import overdue_q
from apps.applications.workflow import Status
from apps.core.filters import FilterSet

ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class StaffApplicationFilter(FilterSet):
    """``status`` (repeatable), ``service`` (code), ``assignee`` (uuid, ``me`` or ``none``),
    ``overdue``, ``submitted_from`` / ``submitted_to`` (local dates, inclusive), ``reference``."""

    # distinct=False: no join multiplies rows here, and SELECT DISTINCT over the wide rows kept
    # PostgreSQL from stopping after one page on the queue index (benches/README.md).
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices,
        distinct=False,
        help_text=_("One or more statuses (drafts are never listed)."),
    )
    service = django_filters.CharFilter(field_name="service__code", help_text=_("Service code."))
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        help_text=_('A staff member\'s id, "me" or "none" (not assigned).'),
    )
    overdue = django_filters.ChoiceFilter(
        choices=[("true", _("Yes")), ("false", _("No"))],
        method="filter_overdue",
        help_text=_("true: deadline passed and not decided; false: the others."),
    )
    submitted_from = django_filters.DateFilter(
        method="filter_submitted_from", help_text=_("Submitted on or after this day.")
    )
    submitted_to = django_filters.DateFilter(
        method="filter_submitted_to", help_text=_("Submitted on or before this day.")
    )
    reference = django_filters.CharFilter(
        field_name="reference", lookup_expr="iexact", help_text=_("Exact reference.")
    )

    class Meta:
        model = Application
        fields: list[str] = []

    def filter_assignee(
        self, queryset: QuerySet[Application], name: str, value: str
    ) -> QuerySet[Application]:
        if value == ASSIGNEE_NONE:
            return queryset.filter(assignee__isnull=True)
        if value == ASSIGNEE_ME:
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=getattr(user, "pk", None))
        try:
            assignee_id = uuid.UUID(value)
        except ValueError:
            raise ValidationError(
                {"assignee": [_('Give a staff member\'s id, "me" or "none".')]}
            ) from None
        return queryset.filter(assignee_id=assignee_id)

    def filter_overdue(
        self, queryset: QuerySet[Application], name: str, value: str
    ) -> QuerySet[Application]:
        return queryset.filter(overdue_q()) if value == "true" else queryset.exclude(overdue_q())

    def filter_submitted_from(
        self, queryset: QuerySet[Application], name: str, value: date
    ) -> QuerySet[Application]:
        return queryset.filter(submitted_at__gte=_local_midnight(value))

    def filter_submitted_to(
        self, queryset: QuerySet[Application], name: str, value: date
    ) -> QuerySet[Application]:
        return queryset.filter(submitted_at__lt=_local_midnight(value + timedelta(days=1)))
