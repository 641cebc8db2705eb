"""Filters of the audit event list (django-filter)."""

from __future__ import annotations

import django_filters

from apps.audit.models import ActorType, AuditEvent, Outcome
from apps.core.filters import FilterSet


class AuditEventFilter(FilterSet):
    """Exact filters on actor, target, action and outcome; a range on the time."""

    actor_type = django_filters.ChoiceFilter(choices=ActorType.choices)
    actor_id = django_filters.CharFilter()
    target_type = django_filters.CharFilter()
    target_id = django_filters.CharFilter()
    action = django_filters.CharFilter()
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    occurred_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="occurred_at_after / occurred_at_before (ISO 8601, inclusive)."
    )

    class Meta:
        model = AuditEvent
        fields = (
            "actor_type",
            "actor_id",
            "target_type",
            "target_id",
            "action",
            "outcome",
            "occurred_at",
        )
