"""Admin console registrations for agencies (platform administrators, public host)."""

from django.contrib import admin

from apps.agencies.models import Agency, Domain
from apps.audit.admin import AuditedAdminMixin


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Agency)
class AgencyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Agencies; create them with the API or `manage.py create_agency` (schema cloning)."""

    list_display = ("slug", "name_fr", "is_active", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("schema_name", "created_at", "deactivated_at")
    inlines = (DomainInline,)

    def has_add_permission(self, request: object) -> bool:
        return False
