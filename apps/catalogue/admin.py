"""The catalogue in the agency console: agency admins edit services and holidays.

Every role of the agency may look; only agency admins add or change. Saving goes through
``apps.catalogue.services`` so the console writes the same audit events and keeps the
cross-agency search index in step exactly like any other caller. Nothing is deleted from the
console: a service that should disappear is unpublished (applications keep referring to it).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy, ngettext

from apps.accounts.admin_site import RoleAdminMixin, console_role
from apps.accounts.models import Role
from apps.catalogue import services
from apps.catalogue.documents import default_definition, definition_errors
from apps.catalogue.models import DocumentDefinition, PublicHoliday, Service
from apps.core.context import bind_actor

EVERY_ROLE = frozenset(Role.values)
ADMIN_ONLY = frozenset({Role.AGENCY_ADMIN})


def bind_console_actor(request: HttpRequest) -> None:
    """Name the signed-in civil servant and their role in the audit context."""
    bind_actor(
        actor_type="user",
        actor_id=str(request.user.pk),
        actor_role=console_role(request) or "",
    )


class PrettyJSONField(forms.JSONField):
    """JSON edited as indented text, with the position of a syntax error in the message."""

    default_error_messages = {
        "invalid": gettext_lazy(
            "This is not valid JSON (line %(line)s, column %(column)s): %(reason)s."
        ),
    }

    def to_python(self, value: Any) -> Any:
        if self.disabled or not isinstance(value, str):
            return super().to_python(value)
        if value.strip() in self.empty_values:
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={"line": exc.lineno, "column": exc.colno, "reason": exc.msg},
            ) from exc

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


def _json_widget(rows: int) -> forms.Textarea:
    return forms.Textarea(
        attrs={
            "rows": rows,
            "cols": 100,
            "spellcheck": "false",
            "style": "font-family: monospace; width: 100%;",
        }
    )


class ServiceAdminForm(forms.ModelForm):
    """The service form: the JSON Schema and document list as readable, indented JSON."""

    class Meta:
        model = Service
        fields = (
            "code",
            "name_fr",
            "name_en",
            "description_fr",
            "description_en",
            "category",
            "fee_xof",
            "sla_working_days",
            "is_published",
            "form_schema",
            "document_types",
        )
        field_classes = {"form_schema": PrettyJSONField, "document_types": PrettyJSONField}
        widgets = {"form_schema": _json_widget(24), "document_types": _json_widget(12)}

    def clean_document_types(self) -> Any:
        value = self.cleaned_data.get("document_types")
        return [] if value is None else value


class DocumentDefinitionForm(forms.Form):
    """A document definition (JSON, ``apps.catalogue.documents``) and the preview language."""

    definition = PrettyJSONField(label=gettext_lazy("Document definition"), widget=_json_widget(30))
    language = forms.ChoiceField(
        label=gettext_lazy("Preview language"),
        choices=(("fr", "Français"), ("en", "English")),
        initial="fr",
    )


def _preview(
    request: HttpRequest, service: Service, definition: dict[str, Any], language: str
) -> tuple[str, str]:
    """The preview as a PNG data URI (poppler installed) and as a PDF data URI."""
    from apps.certificates.preview import definition_preview_pdf, pdf_to_png
    from apps.certificates.selectors import agency_current

    agency = agency_current()
    if agency is None:
        return "", ""
    try:
        pdf = definition_preview_pdf(
            agency=agency, service=service, definition=definition, language=language
        )
    except Exception:
        messages.error(request, gettext_lazy("The preview could not be drawn."))
        return "", ""
    png = pdf_to_png(pdf, dpi=60)
    png_uri = "data:image/png;base64," + base64.b64encode(png).decode() if png else ""
    return png_uri, "data:application/pdf;base64," + base64.b64encode(pdf).decode()


def _copy_state(target: Any, source: Any) -> None:
    """Make the admin's in-memory object the row the service saved (pk, timestamps)."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


@admin.register(Service)
class ServiceAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Services of this agency: agency admins edit, every other role reads."""

    form = ServiceAdminForm
    view_roles = EVERY_ROLE
    add_roles = ADMIN_ONLY
    change_roles = ADMIN_ONLY
    list_display = (
        "code",
        "name_fr",
        "category",
        "fee_xof",
        "sla_working_days",
        "is_published",
        "updated_at",
        "document_link",
    )
    list_filter = ("is_published", "category")
    search_fields = ("code", "name_fr", "name_en")
    ordering = ("category", "code")
    readonly_fields = ("id", "created_at", "updated_at")
    actions = ("publish_selected", "unpublish_selected")
    fieldsets = (
        (None, {"fields": ("code", "category", "is_published")}),
        (
            gettext_lazy("Names and descriptions"),
            {"fields": ("name_fr", "name_en", "description_fr", "description_en")},
        ),
        (gettext_lazy("Fee and deadline"), {"fields": ("fee_xof", "sla_working_days")}),
        (gettext_lazy("Form and documents"), {"fields": ("form_schema", "document_types")}),
        (gettext_lazy("Record"), {"fields": ("id", "created_at", "updated_at")}),
    )

    @admin.display(description=gettext_lazy("Document"))
    def document_link(self, obj: Service) -> str:
        """A link to the document definition editor."""
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("admin:catalogue_service_document", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext_lazy("Certificate document"))

    def get_urls(self) -> list[Any]:
        """The service's document definition editor, beside its change page."""
        return [
            path(
                "<uuid:object_id>/document/",
                self.admin_site.admin_view(self.document_view),
                name="catalogue_service_document",
            ),
            *super().get_urls(),
        ]

    def document_view(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        """Edit the certificate's document definition with a live preview (agency admins)."""
        service = Service.objects.filter(pk=object_id).first()
        if service is None or not self.has_view_permission(request, service):
            raise Http404
        can_change = self.has_change_permission(request, service)
        current = services.document_definition_current(service=service)
        initial = current.definition if current is not None else default_definition(service)
        form = DocumentDefinitionForm(
            request.POST if request.method == "POST" else None,
            initial={"definition": initial, "language": "fr"},
        )
        preview_png = preview_pdf = ""
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            if form.is_valid():
                definition = form.cleaned_data["definition"]
                errors = definition_errors(definition, service.form_schema)
                for error in errors:
                    form.add_error("definition", error)
                if not errors and "save" in request.POST:
                    bind_console_actor(request)
                    saved = services.document_definition_save(
                        service=service, definition=definition, actor_id=str(request.user.pk)
                    )
                    self.message_user(
                        request,
                        gettext_lazy("Document definition saved (version %(version)d).")
                        % {"version": saved.version},
                        messages.SUCCESS,
                    )
                    return redirect(request.path)
                if not errors:
                    preview_png, preview_pdf = _preview(
                        request, service, definition, form.cleaned_data["language"]
                    )
        elif current is not None or initial:
            preview_png, preview_pdf = _preview(request, service, initial, "fr")
        versions = DocumentDefinition.objects.filter(service=service).order_by("-version")[:20]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext_lazy("Document of %(service)s") % {"service": service.name_fr},
            "service": service,
            "form": form,
            "can_change": can_change,
            "current": current,
            "versions": versions,
            "preview_png": preview_png,
            "preview_pdf": preview_pdf,
        }
        return TemplateResponse(request, "certificates/document_definition.html", context)

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        bind_console_actor(request)
        if not change:
            fields = {name: getattr(obj, name) for name in ServiceAdminForm.Meta.fields}
            _copy_state(obj, services.service_create(**fields))
            return
        changed = set(form.changed_data)
        edits = {
            name: getattr(obj, name) for name in services.SERVICE_EDITABLE_FIELDS if name in changed
        }
        saved = obj
        if edits:
            saved = services.service_update(service=obj, changes=edits)
        if "is_published" in changed:
            publish = services.service_publish if obj.is_published else services.service_unpublish
            saved = publish(service=obj)
        _copy_state(obj, saved)

    def _set_published(
        self, request: HttpRequest, queryset: QuerySet[Service], *, is_published: bool
    ) -> None:
        bind_console_actor(request)
        changed = 0
        for service in queryset:
            if service.is_published != is_published:
                if is_published:
                    services.service_publish(service=service)
                else:
                    services.service_unpublish(service=service)
                changed += 1
        template = (
            ngettext("%(count)d service published.", "%(count)d services published.", changed)
            if is_published
            else ngettext(
                "%(count)d service unpublished.", "%(count)d services unpublished.", changed
            )
        )
        self.message_user(request, template % {"count": changed}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Publish the selected services"), permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        self._set_published(request, queryset, is_published=True)

    @admin.action(
        description=gettext_lazy("Unpublish the selected services"), permissions=["change"]
    )
    def unpublish_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        self._set_published(request, queryset, is_published=False)


@admin.register(PublicHoliday)
class PublicHolidayAdmin(RoleAdminMixin, admin.ModelAdmin):
    """The agency's public holidays (deadlines skip them): agency admins edit."""

    view_roles = EVERY_ROLE
    add_roles = ADMIN_ONLY
    change_roles = ADMIN_ONLY
    delete_roles = ADMIN_ONLY
    list_display = ("date", "name_fr", "name_en")
    date_hierarchy = "date"
    ordering = ("-date",)
    fields = ("date", "name_fr", "name_en")

    def save_model(self, request: HttpRequest, obj: PublicHoliday, form: Any, change: bool) -> None:
        bind_console_actor(request)
        if not change:
            created = services.public_holiday_create(
                date=obj.date, name_fr=obj.name_fr, name_en=obj.name_en
            )
            _copy_state(obj, created)
            return
        edits = {name: getattr(obj, name) for name in services.HOLIDAY_FIELDS}
        _copy_state(obj, services.public_holiday_update(holiday=obj, changes=edits))

    def delete_model(self, request: HttpRequest, obj: PublicHoliday) -> None:
        bind_console_actor(request)
        services.public_holiday_delete(holiday=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PublicHoliday]) -> None:
        bind_console_actor(request)
        for holiday in queryset:
            services.public_holiday_delete(holiday=holiday)
