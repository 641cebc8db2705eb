"""Admin console registrations for identities (platform administrators, public host)."""

from django.contrib import admin
from django.http import HttpRequest

from apps.accounts.models import Membership, PartnerClient, PartnerGrant, User
from apps.audit.admin import AuditedAdminMixin


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


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Civil servants' roles."""

    list_display = ("user", "agency", "role", "is_active")
    list_filter = ("role", "is_active", "agency")
    list_select_related = ("user", "agency")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)


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
