"""Idempotency records in the admin console: read-only, for support investigations."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from apps.core.admin import SuperuserReadOnlyMixin
from apps.idempotency.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(SuperuserReadOnlyMixin, admin.ModelAdmin):
    """Records are written by the API only and purged by a periodic task (superusers only)."""

    list_display = ("created_at", "scope", "caller", "status_code")
    list_filter = ("scope", "status_code")
    search_fields = ("key", "caller")
    date_hierarchy = "created_at"
    exclude = ("response_body",)  # may hold personal data; the status is enough for support

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
