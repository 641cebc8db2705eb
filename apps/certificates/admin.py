"""Certificates in the agency console: staff read them; supervisors and administrators revoke.
Agency admins set the document settings (seal or logo, signatory, place of issue).

Revocation asks for a reason on a confirmation page and goes through ``certificate_revoke``
(audited, webhook event), one certificate at a time in its own transaction.
"""

from __future__ import annotations

import base64
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.admin_site import ReadOnlyRoleAdminMixin, RoleAdminMixin
from apps.accounts.models import Role, User
from apps.certificates.branding import (
    SEAL_MAX_BYTES,
    TEXT_FIELDS,
    document_settings_save,
    seal_validate,
)
from apps.certificates.errors import CertificateAlreadyRevoked
from apps.certificates.models import Certificate, CertificateStatus, DocumentSettings
from apps.certificates.services import certificate_revoke, seal_bytes
from apps.core.errors import InvalidInput
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


class DocumentSettingsForm(forms.ModelForm):
    """The signatory, the place of issue and a new seal or logo (PNG or JPEG, checked)."""

    seal_upload = forms.FileField(
        label=_("New seal or logo"),
        required=False,
        help_text=_("PNG or JPEG, at most 1 MB, 64 to 2000 pixels on each side."),
    )

    class Meta:
        model = DocumentSettings
        fields = ("signatory_name", "signatory_title_fr", "signatory_title_en", "place_of_issue")

    def clean_seal_upload(self) -> bytes | None:
        upload = self.cleaned_data.get("seal_upload")
        if upload is None:
            return None
        data = upload.read(SEAL_MAX_BYTES + 1)
        try:
            seal_validate(data)
        except InvalidInput as exc:
            raise forms.ValidationError(
                [str(m) for m in (exc.errors or {}).get("seal", [str(exc)])]
            ) from exc
        return bytes(data)


@admin.register(DocumentSettings)
class DocumentSettingsAdmin(RoleAdminMixin, admin.ModelAdmin):
    """What every certificate of the agency prints: seal, signatory, place (agency admins)."""

    form = DocumentSettingsForm
    view_roles = READERS
    add_roles = frozenset({Role.AGENCY_ADMIN.value})
    change_roles = frozenset({Role.AGENCY_ADMIN.value})
    list_display = ("__str__", "signatory_name", "place_of_issue", "updated_at")
    readonly_fields = ("seal_preview", "updated_at")
    fields = (
        "seal_preview",
        "seal_upload",
        "signatory_name",
        "signatory_title_fr",
        "signatory_title_en",
        "place_of_issue",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request) and not DocumentSettings.objects.exists()

    @admin.display(description=_("Current seal"))
    def seal_preview(self, obj: DocumentSettings) -> str:
        """The current seal, inline."""
        data = seal_bytes(obj.seal_path) if obj.seal_path else None
        if not data:
            return "—"
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        return format_html('<img src="{}" alt="" style="max-height: 8rem;">', uri)

    def save_model(
        self, request: HttpRequest, obj: DocumentSettings, form: Any, change: bool
    ) -> None:
        bind_console_actor(request)
        saved = document_settings_save(
            changes={field: getattr(obj, field) for field in TEXT_FIELDS},
            seal=form.cleaned_data.get("seal_upload"),
        )
        obj.pk = saved.pk
        obj.seal_path = saved.seal_path
        obj._state.adding = False
