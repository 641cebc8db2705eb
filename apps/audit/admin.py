"""Audit events and checkpoints in the admin console: read-only, for the agency's auditors.

On an agency host, members whose role is ``auditor`` or ``agency_admin`` see their agency's
trail; on the public host platform administrators see the platform trail. Nobody adds,
changes or deletes a row, not even a superuser (the database refuses it anyway).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name, schema_context

from apps.accounts.admin_site import ReadOnlyRoleAdminMixin, console_role
from apps.accounts.models import Role
from apps.audit.export import audit_export_start
from apps.audit.labels import action_label
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.readable import Names, events_csv, names_for, person_ids_matching
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


class ReferenceFilter(TextInputFilter):
    """Every event of one application, by its reference (``AA-2026-000001``)."""

    title = _("application reference")
    parameter_name = "reference"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").replace("\x00", "").strip()
        if not value or current_schema() == get_public_schema_name():
            return queryset
        from apps.applications.selectors import application_id_for_reference

        application_id = application_id_for_reference(value) or value
        return queryset.filter(target_type="application", target_id=application_id)


class ActionFilter(admin.SimpleListFilter):
    """Actions by their French names (the codes stay in the URL)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        codes = (
            model_admin.get_queryset(request).order_by().values_list("action", flat=True).distinct()
        )
        return sorted(((code, action_label(code)) for code in codes), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class PersonFilter(TextInputFilter):
    """Events made by a person found by name (accents ignored), e-mail or phone."""

    title = _("person")
    parameter_name = "person"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(actor_type="user", actor_id__in=person_ids_matching(value))


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
        "action_display",
        "actor_display",
        "target_display",
        "outcome",
    )
    list_filter = (
        ReferenceFilter,
        PersonFilter,
        "outcome",
        "actor_type",
        ActorFilter,
        "target_type",
        TargetFilter,
        ActionFilter,
        ("occurred_at", admin.DateFieldListFilter),
    )
    change_list_template = "admin/audit/auditevent/change_list.html"
    search_fields = ("=request_id", "=target_id", "=actor_id")
    date_hierarchy = "occurred_at"
    ordering = ("-sequence",)
    show_full_result_count = False
    fields = (
        "action_display",
        "actor_display",
        "target_display",
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

    readonly_fields = ("action_display", "actor_display", "target_display")

    # --- names resolved at read time (the chain keeps ids and codes) ---

    @staticmethod
    def _names_of(event: AuditEvent) -> Names:
        """The names resolved for the page the event is on (one event alone otherwise)."""
        names = getattr(event, "_audit_names", None)
        return names if names is not None else names_for([event])

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        query = request.GET.urlencode()
        context = {
            "title": gettext("Audit trail"),
            "is_nav_sidebar_enabled": False,  # every column at 1366 px
            "csv_url": reverse("admin:audit_auditevent_export_csv")
            + (f"?{query}" if query else ""),
            "jsonl_url": reverse("admin:audit_auditevent_export_jsonl"),
            **(extra_context or {}),
        }
        response = super().changelist_view(request, extra_context=context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # One query per kind for the names of the whole page (the rows stay cached).
            events = list(changelist.result_list)
            names = names_for(events)
            for event in events:
                event._audit_names = names
        return response

    @admin.display(description=_("action"), ordering="action")
    def action_display(self, event: AuditEvent) -> str:
        return action_label(event.action)

    @admin.display(description=_("by"))
    def actor_display(self, event: AuditEvent) -> str:
        return self._names_of(event).actor(event)

    @admin.display(description=_("concerning"))
    def target_display(self, event: AuditEvent) -> str:
        return self._names_of(event).target(event)

    # --- exports ---

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv_view),
                name="audit_auditevent_export_csv",
            ),
            path(
                "export.jsonl",
                self.admin_site.admin_view(self.export_jsonl_view),
                name="audit_auditevent_export_jsonl",
            ),
        ]
        return extra + super().get_urls()

    def _bind(self, request: HttpRequest) -> None:
        user = request.user
        role = console_role(request) or ("platform_admin" if user.is_superuser else "")
        bind_actor(actor_type="user", actor_id=str(user.pk), actor_role=role)

    def export_csv_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The events the list shows (same filters), oldest first, as CSV; audited."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        schema = current_schema()
        self._bind(request)
        audit_record(
            action="audit.exported_csv",
            target_type="audit_chain",
            target_id=schema,
            changes={"filters": {"old": None, "new": request.GET.urlencode()[:500]}},
        )
        response = StreamingHttpResponse(
            _in_schema(schema, get_language() or "fr", events_csv(queryset)),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="audit-{schema}-{stamp}.csv"'
        return response

    def export_jsonl_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The signed JSON Lines export of the whole chain (``apps.audit.export``); audited."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        self._bind(request)
        export = audit_export_start()
        response = StreamingHttpResponse(export.lines(), content_type="application/jsonl")
        response["Content-Disposition"] = f'attachment; filename="audit-{export.schema}.jsonl"'
        return response


def _in_schema(schema: str, language: str, lines: Iterator[str]) -> Iterator[str]:
    """Consume ``lines`` in ``schema`` and ``language`` (a stream outlives its request)."""
    with schema_context(schema), translation.override(language):
        yield from lines


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
