"""The outbox in the admin console: operators watch messages and re-queue dead letters.

On an agency host the agency's administrators see its outbox; on the public host platform
administrators see the platform's. Nobody edits a message by hand: the only change is the
"re-queue" action on dead letters and on messages whose outcome is unknown (an interrupted
attempt the provider could not confirm), which goes through ``outbox_requeue`` (audited).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tenants.utils import get_public_schema_name

from apps.accounts.admin_site import ReadOnlyRoleAdminMixin, console_role
from apps.accounts.models import Role
from apps.core.context import bind_actor
from apps.core.tenancy import current_schema
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_requeue

OPERATOR_ROLES = frozenset({Role.AGENCY_ADMIN.value})


def bind_console_actor(request: HttpRequest) -> None:
    """Record the signed-in console user (and their role here) as the actor of audit events."""
    is_platform_admin = bool(getattr(request.user, "is_superuser", False))
    role = console_role(request) or ("platform_admin" if is_platform_admin else "")
    bind_actor(actor_type="user", actor_id=str(request.user.pk), actor_role=role)


class OperatorAdminMixin(ReadOnlyRoleAdminMixin):
    """Agency administrators on agency hosts, platform administrators on the public host."""

    view_roles = OPERATOR_ROLES
    # False for models that only exist in agency schemas (nothing to show on the public host).
    on_public_host = True

    def _is_platform_admin(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if current_schema() == get_public_schema_name():
            return self.on_public_host and self._is_platform_admin(request)
        return super().has_view_permission(request, obj)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(OperatorAdminMixin, admin.ModelAdmin):
    """Messages newest first; dead letters can be sent back to the relay."""

    list_display = (
        "created_at",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "dead_at",
        "short_error",
    )
    list_filter = ("status", "kind", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id",)
    ordering = ("-created_at",)
    show_full_result_count = False
    actions = ["requeue_dead_letters"]
    readonly_fields = (
        "id",
        "kind",
        "status",
        "attempts",
        "payload",
        "dedupe_key",
        "created_at",
        "next_attempt_at",
        "lease_until",
        "attempt_started_at",
        "sent_at",
        "dead_at",
        "last_error",
    )
    fields = readonly_fields
    # Raw payloads and de-duplication keys name people and documents: platform superusers only.
    INTERNAL_FIELDS = ("payload", "dedupe_key")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        if self._is_platform_admin(request):
            return fields
        return [name for name in fields if name not in self.INTERNAL_FIELDS]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    @admin.display(description=_("last error"))
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    # Only "view" is needed: the console's model permissions are read-only on purpose, and
    # this action is the one change operators make.
    # Messages whose outcome is unknown are re-queued only by an operator who checked with
    # the provider that the person did not get them.
    @admin.action(
        description=_("Re-queue the selected dead letters and messages of unknown outcome"),
        permissions=["view"],
    )
    def requeue_dead_letters(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        bind_console_actor(request)
        ids = list(
            queryset.filter(status__in=[Status.DEAD, Status.UNKNOWN]).values_list("pk", flat=True)
        )
        count = outbox_requeue(message_ids=ids)
        self.message_user(
            request,
            ngettext(
                "%(count)d message sent back to the relay.",
                "%(count)d messages sent back to the relay.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
