"""Audit events and checkpoints in the admin console: read-only, for the agency's auditors.

On an agency host, members whose role is ``auditor`` or ``agency_admin`` see their agency's
trail; on the public host platform administrators see the platform trail. Nobody adds,
changes or deletes a row, not even a superuser (the database refuses it anyway).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from apps.accounts.admin_site import ReadOnlyRoleAdminMixin, console_role
from apps.accounts.models import Role
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import audit_changes_for, audit_record
from apps.core.context import bind_actor
from apps.core.tenancy import current_schema

AUDIT_READER_ROLES = frozenset({Role.AUDITOR.value, Role.AGENCY_ADMIN.value})


class TextInputFilter(admin.SimpleListFilter):
    """A free-text filter (exact match on ``field``) shown as a search box in the sidebar."""

    template = "admin/audit/input_filter.html"
    field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("", "")]  # a filter without lookups is not displayed

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value.strip()}) if value else queryset

    def choices(self, changelist: Any) -> Iterator[Any]:
        others = [
            (name, value)
            for name, values in changelist.get_filters_params().items()
            if name != self.parameter_name
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "query_parts": others,
        }


class ActorFilter(TextInputFilter):
    title = _("actor id")
    parameter_name = "actor"
    field = "actor_id"


class TargetFilter(TextInputFilter):
    title = _("target id")
    parameter_name = "target"
    field = "target_id"


class ReadOnlyAuditAdmin(ReadOnlyRoleAdminMixin, admin.ModelAdmin):
    """Visible to the agency's auditors and administrators (platform admins on the public host)."""

    view_roles = AUDIT_READER_ROLES
    actions = None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if current_schema() == get_public_schema_name():
            user = request.user
            return bool(user.is_authenticated and user.is_active and user.is_superuser)
        return super().has_view_permission(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAuditAdmin):
    """The trail, newest first, filterable by actor, target, action, outcome and date."""

    list_display = (
        "sequence",
        "occurred_at",
        "action",
        "outcome",
        "actor_type",
        "actor_id",
        "actor_role",
        "target_type",
        "target_id",
    )
    list_filter = (
        "outcome",
        "actor_type",
        ActorFilter,
        "target_type",
        TargetFilter,
        "action",
        ("occurred_at", admin.DateFieldListFilter),
    )
    search_fields = ("=request_id", "=target_id", "=actor_id")
    date_hierarchy = "occurred_at"
    ordering = ("-sequence",)
    show_full_result_count = False
    fields = (
        "sequence",
        "occurred_at",
        "agency_schema",
        "actor_type",
        "actor_id",
        "actor_role",
        "action",
        "target_type",
        "target_id",
        "changes",
        "outcome",
        "ip",
        "user_agent",
        "request_id",
        "version",
        "prev_hash",
        "hash",
    )


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAuditAdmin):
    """Signed checkpoints of the chain."""

    list_display = ("sequence", "signed_at", "key_id", "hash")
    ordering = ("-sequence", "-signed_at")
    date_hierarchy = "signed_at"


class AuditedAdminMixin:
    """Record an audit event for every add, change and delete made through a model admin.

    Put it first in the bases of any ``ModelAdmin`` whose model is changed in the console:
    ``class AgencyAdmin(AuditedAdminMixin, admin.ModelAdmin)``. The admin's views run in a
    transaction, so the event commits with the change. Actions are ``<app_label>.<model>.
    admin_added|admin_changed|admin_deleted``; changed values are redacted by the model's
    ``AUDIT_REDACTED_FIELDS``; the actor is the signed-in user with their console role.
    """

    def _bind_console_actor(self, request: HttpRequest) -> None:
        user = request.user
        role = console_role(request) or ("platform_admin" if user.is_superuser else "")
        bind_actor(actor_type="user", actor_id=str(user.pk), actor_role=role)

    def _action(self, obj: models.Model, verb: str) -> str:
        return f"{obj._meta.label_lower}.admin_{verb}"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        concrete = {f.name for f in obj._meta.concrete_fields}
        fields = [name for name in form.changed_data if name in concrete]
        before = {name: form.initial.get(name) for name in fields} if change else None
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        if change and not form.changed_data:
            return
        changes = audit_changes_for(before, obj, fields) if fields or change else {}
        if not change and not fields:
            changes = audit_changes_for(None, obj)
        for name in form.changed_data:  # many-to-many and other non-column fields
            if name not in concrete:
                changes[name] = {"old": None, "new": "[changed]"}
        self._bind_console_actor(request)
        audit_record(
            action=self._action(obj, "changed" if change else "added"),
            target_type=obj._meta.model_name,
            target_id=obj.pk,
            changes=changes,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        target_id, target_type = obj.pk, obj._meta.model_name
        action = self._action(obj, "deleted")
        super().delete_model(request, obj)  # type: ignore[misc]
        self._bind_console_actor(request)
        audit_record(action=action, target_type=target_type, target_id=target_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
