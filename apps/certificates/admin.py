"""Certificates in the agency console: staff read them; supervisors and administrators revoke.

Revocation asks for a reason on a confirmation page and goes through ``certificate_revoke``
(audited, webhook event), one certificate at a time in its own transaction.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.admin_site import ReadOnlyRoleAdminMixin
from apps.accounts.models import Role, User
from apps.certificates.errors import CertificateAlreadyRevoked
from apps.certificates.models import Certificate, CertificateStatus
from apps.certificates.services import certificate_revoke
from apps.outbox.admin import bind_console_actor

READERS = frozenset(
    {Role.AGENT.value, Role.SUPERVISOR.value, Role.AGENCY_ADMIN.value, Role.AUDITOR.value}
)
REVOKERS = frozenset({Role.SUPERVISOR.value, Role.AGENCY_ADMIN.value})


class RevocationForm(forms.Form):
    """The reason, recorded with the revocation."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea, max_length=2000)


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyRoleAdminMixin, admin.ModelAdmin):
    """Issued certificates, newest first."""

    view_roles = READERS
    list_display = ("reference", "service_code", "issued_at", "status", "revoked_at", "code")
    list_filter = ("status", ("issued_at", admin.DateFieldListFilter))
    search_fields = ("=reference", "=code")
    ordering = ("-issued_at",)
    show_full_result_count = False
    actions = ["revoke"]
    fields = (
        "id",
        "reference",
        "application",
        "holder_name",
        "service_code",
        "issued_at",
        "code",
        "status",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
        "sha256",
        "content_sha256",
        "key_id",
        "file_path",
    )
    readonly_fields = fields

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self._role_allows(request, REVOKERS)

    @admin.action(description=_("Revoke the selected certificates"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Certificate]) -> HttpResponse | None:
        form = RevocationForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            bind_console_actor(request)
            count = 0
            for certificate in queryset.filter(status=CertificateStatus.VALID):
                try:
                    certificate_revoke(
                        certificate_id=certificate.pk,
                        actor=cast(User, request.user),
                        reason=form.cleaned_data["reason"],
                    )
                except CertificateAlreadyRevoked:
                    continue
                count += 1
            self.message_user(
                request,
                ngettext("%(count)d certificate revoked.", "%(count)d certificates revoked.", count)
                % {"count": count},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/certificates/revoke.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Revoke certificates"),
                "opts": self.model._meta,
                "form": form,
                "certificates": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )
