"""Admin console registrations for identities (platform administrators, public host)."""

import time
from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.accounts.models import Membership, PartnerClient, PartnerGrant, User
from apps.accounts.services import user_tokens_revoke_all
from apps.audit.admin import AuditedAdminMixin


def _next_second() -> float:
    """Revocation mark one second ahead: a token issued in this very second dies too."""
    return time.time() + 1


@admin.register(User)
class UserAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """People; passwords are never shown."""

    list_display = ("id", "email", "phone", "is_active", "is_superuser", "date_joined")
    search_fields = ("email", "phone")
    list_filter = ("is_active", "is_superuser")
    exclude = ("password", "groups", "user_permissions")
    readonly_fields = ("last_login", "date_joined")

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """Accounts are deactivated, never deleted: agency schemas keep references to them."""
        return False

    # Deactivating an account ends its sessions at once: ``User.save()`` revokes its tokens on
    # commit (apps/accounts/revocations.py), whatever path saves it.


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Civil servants' roles."""

    list_display = ("user", "agency", "role", "is_active")
    list_filter = ("role", "is_active", "agency")
    list_select_related = ("user", "agency")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        """A changed or ended role takes effect at the next request, not at token expiry."""
        super().save_model(request, obj, form, change)
        if change and {"role", "is_active", "agency"} & set(form.changed_data):
            user_tokens_revoke_all(user=obj.user, at=_next_second())


class PartnerGrantInline(admin.TabularInline):
    model = PartnerGrant
    extra = 0


@admin.register(PartnerClient)
class PartnerClientAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Partner machine clients; the secret is only ever shown at creation."""

    list_display = ("name", "client_id", "is_active", "created_at")
    exclude = ("secret_hash",)
    readonly_fields = ("client_id", "created_at")
    inlines = (PartnerGrantInline,)
