"""Audit events in the admin console: read-only."""

from typing import Any

from django.contrib import admin

from apps.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Nobody adds, changes or deletes audit events, not even a superuser."""

    list_display = ("occurred_at", "action", "outcome", "actor_type", "actor_id", "target_type")
    list_filter = ("outcome", "actor_type", "action")
    search_fields = ("target_id", "actor_id", "request_id")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
