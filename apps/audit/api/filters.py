"""Filters of the audit event list (django-filter)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from apps.audit.models import ActorType, AuditEvent, Outcome
from apps.core.filters import FilterSet


class AuditEventFilter(FilterSet):
    """Exact filters on actor, target, action and outcome; a range on the time."""

    actor_type = django_filters.ChoiceFilter(
        choices=ActorType.choices, help_text=_("Only events of this kind of actor.")
    )
    actor_id = django_filters.CharFilter(help_text=_("Only events of this actor (its id)."))
    target_type = django_filters.CharFilter(
        help_text=_("Only events on this kind of object (e.g. `application`).")
    )
    target_id = django_filters.CharFilter(help_text=_("Only events on this object (its id)."))
    action = django_filters.CharFilter(
        help_text=_("Only this action (e.g. `application.approve`).")
    )
    outcome = django_filters.ChoiceFilter(
        choices=Outcome.choices, help_text=_("Only events with this outcome.")
    )
    occurred_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text=_("occurred_at_after / occurred_at_before (ISO 8601, inclusive).")
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
