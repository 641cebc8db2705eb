"""Payments in the agency console: attempts per application, the daily reconciliation report
per network, CSV exports, exemption categories and the agency's payment policy.

Payments and refunds are evidence: nobody edits them by hand. The policy and the exemption
categories are changed by agency administrators through the services (audited).
"""

from __future__ import annotations

import csv
from datetime import date
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin_site import ReadOnlyRoleAdminMixin, RoleAdminMixin
from apps.accounts.models import Role
from apps.audit.services import audit_record
from apps.core.context import bind_actor
from apps.payments.models import ExemptionCategory, Payment, PaymentPolicy, Refund
from apps.payments.selectors import reconciliation_report
from apps.payments.services import policy_update

STAFF = frozenset(
    {Role.AGENT.value, Role.SUPERVISOR.value, Role.AGENCY_ADMIN.value, Role.AUDITOR.value}
)
ADMINS = frozenset({Role.AGENCY_ADMIN.value})
REPORT_COLUMNS = (
    ("network", _("Network")),
    ("expected_count", _("Expected (count)")),
    ("expected_xof", _("Expected (XOF)")),
    ("confirmed_count", _("Confirmed (count)")),
    ("confirmed_xof", _("Confirmed (XOF)")),
    ("pending_count", _("Pending (count)")),
    ("pending_xof", _("Pending (XOF)")),
    ("refunded_count", _("Refunded (count)")),
    ("refunded_xof", _("Refunded (XOF)")),
)
PAYMENT_COLUMNS = (
    "identifier",
    "application__reference",
    "network",
    "amount_xof",
    "currency",
    "status",
    "created_at",
    "paid_at",
    "provider_reference",
    "payment_reference",
    "failure_reason",
)


def _bind(request: HttpRequest) -> None:
    from apps.accounts.admin_site import console_role

    bind_actor(
        actor_type="user", actor_id=str(request.user.pk), actor_role=console_role(request) or ""
    )


def _report_day(request: HttpRequest) -> date:
    return parse_date(request.GET.get("day", "")) or timezone.localdate()


class RefundInline(admin.StackedInline):
    """The refund of a payment, read only."""

    model = Refund
    can_delete = False
    extra = 0
    max_num = 0
    fields = ("identifier", "status", "amount_xof", "reason", "attempts", "refunded_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyRoleAdminMixin, admin.ModelAdmin):
    """Every attempt, newest first; search by application reference to see its payments."""

    view_roles = STAFF
    list_display = (
        "created_at",
        "application_link",
        "network",
        "amount_xof",
        "status",
        "paid_at",
        "identifier",
    )
    list_filter = ("status", "network", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=application__reference", "=identifier", "=application__id")
    list_select_related = ("application",)
    ordering = ("-created_at",)
    show_full_result_count = False
    exclude = ("phone",)  # personal data: the console shows it masked
    readonly_fields = (
        "identifier",
        "application_link",
        "status",
        "network",
        "masked_phone",
        "amount_xof",
        "currency",
        "provider",
        "provider_reference",
        "payment_reference",
        "failure_reason",
        "created_at",
        "expires_at",
        "paid_at",
        "last_checked_at",
        "checks",
    )
    fields = readonly_fields
    inlines = (RefundInline,)
    change_list_template = "admin/payments/payment/change_list.html"

    @admin.display(description=_("application"), ordering="application__reference")
    def application_link(self, payment: Payment) -> str:
        url = reverse("admin:applications_application_change", args=[payment.application_id])
        return format_html('<a href="{}">{}</a>', url, payment.application.reference or "—")

    @admin.display(description=_("phone number"))
    def masked_phone(self, payment: Payment) -> str:
        from apps.payments.receipts import masked_phone

        return masked_phone(payment.phone)

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "report/",
                self.admin_site.admin_view(self.report_view),
                name="payments_payment_report",
            ),
            path(
                "report.csv",
                self.admin_site.admin_view(self.report_csv_view),
                name="payments_payment_report_csv",
            ),
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv_view),
                name="payments_payment_export_csv",
            ),
        ]
        return extra + super().get_urls()

    def _require_view(self, request: HttpRequest) -> None:
        from django.core.exceptions import PermissionDenied

        if not self.has_view_permission(request):
            raise PermissionDenied

    def report_view(self, request: HttpRequest) -> HttpResponseBase:
        """The daily reconciliation report per network (``?day=YYYY-MM-DD``)."""
        self._require_view(request)
        day = _report_day(request)
        rows = reconciliation_report(day=day)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Daily reconciliation report"),
            "day": day,
            "rows": rows,
            "columns": REPORT_COLUMNS,
            "totals": {
                name: sum(getattr(row, name) for row in rows) for name, _label in REPORT_COLUMNS[1:]
            },
        }
        return TemplateResponse(request, "admin/payments/payment/report.html", context)

    def report_csv_view(self, request: HttpRequest) -> HttpResponse:
        """The report as CSV (audited: an export of financial data)."""
        self._require_view(request)
        day = _report_day(request)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rapprochement-{day}.csv"'
        writer = csv.writer(response)
        writer.writerow([str(label) for _name, label in REPORT_COLUMNS])
        for row in reconciliation_report(day=day):
            writer.writerow([getattr(row, name) for name, _label in REPORT_COLUMNS])
        _bind(request)
        audit_record(
            action="payment.report_exported",
            target_type="payment_report",
            target_id=day.isoformat(),
        )
        return response

    def export_csv_view(self, request: HttpRequest) -> HttpResponse:
        """The payments of a day (``?day=``) as CSV, without phone numbers (audited)."""
        self._require_view(request)
        day = _report_day(request)
        queryset: QuerySet[Payment] = Payment.objects.filter(created_at__date=day).order_by(
            "created_at"
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="paiements-{day}.csv"'
        writer = csv.writer(response)
        writer.writerow(PAYMENT_COLUMNS)
        for values in queryset.values_list(*PAYMENT_COLUMNS):
            writer.writerow(
                [
                    v.isoformat() if hasattr(v, "isoformat") else ("" if v is None else v)
                    for v in values
                ]
            )
        _bind(request)
        audit_record(
            action="payment.export", target_type="payment_report", target_id=day.isoformat()
        )
        return response


@admin.register(ExemptionCategory)
class ExemptionCategoryAdmin(RoleAdminMixin, admin.ModelAdmin):
    """The reasons the agency accepts for waiving a fee (agency administrators)."""

    view_roles = STAFF
    add_roles = ADMINS
    change_roles = ADMINS
    list_display = ("code", "label_fr", "label_en", "is_active")
    search_fields = ("code", "label_fr")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _bind(request)
        audit_record(
            action="payment.exemption_category_saved",
            target_type="exemption_category",
            target_id=obj.pk,
            changes={
                name: {"old": None, "new": form.cleaned_data.get(name)}
                for name in form.changed_data
            },
        )


@admin.register(PaymentPolicy)
class PaymentPolicyAdmin(RoleAdminMixin, admin.ModelAdmin):
    """The agency's fee rules: online collection and refunds (agency administrators)."""

    view_roles = STAFF
    add_roles = ADMINS
    change_roles = ADMINS
    list_display = ("__str__", "collects_online", "refund_on_rejection", "refund_on_withdrawal")
    fields = ("collects_online", "refund_on_rejection", "refund_on_withdrawal")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request) and not PaymentPolicy.objects.exists()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        _bind(request)
        policy_update(changes={name: form.cleaned_data[name] for name in self.fields})
