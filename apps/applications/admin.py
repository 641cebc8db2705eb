"""The agency console's work queue and application page.

Agents, supervisors and agency admins work applications here; auditors read them. Every
action calls the same services as the staff API (``application_transition``,
``application_note_add``), so the same rules, history and audit apply; the page carries the
ETag it showed, so a decision on a page someone else changed meanwhile is refused.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin_site import RoleAdminMixin, console_role
from apps.accounts.models import Membership, Role, User
from apps.applications import clock, selectors, services
from apps.applications.answers import answer_rows
from apps.applications.api.views import attachment_file_response
from apps.applications.console.statistics import PERIODS, statistics_csv
from apps.applications.console.timeline import application_timeline, person_name
from apps.applications.errors import AttachmentNotFound
from apps.applications.models import Application, InternalNote, ReferenceSequence
from apps.applications.references import PREFIX_RE, reference_prefix_set
from apps.applications.workflow import (
    CLOCK_RUNNING,
    OPEN,
    STAFF_VISIBLE,
    STAFF_WORKERS,
    Assignment,
    Reason,
    Status,
    actions_available,
    transition_get,
)
from apps.audit.services import audit_record
from apps.core.context import bind_actor
from apps.core.errors import ApplicationError
from apps.core.tenancy import current_schema

WORKERS = frozenset({Role.AGENT, Role.SUPERVISOR, Role.AGENCY_ADMIN})
STATISTICS_ROLES = frozenset({Role.SUPERVISOR, Role.AGENCY_ADMIN, Role.AUDITOR})
FORM_ACTIONS = ("take", "assign", "reassign", "request_info", "approve", "reject", "close")


def console_actor(request: HttpRequest) -> tuple[User, str]:
    """The signed-in member and their role, also bound to the audit context."""
    role = console_role(request) or ""
    user: User = request.user  # type: ignore[assignment]
    bind_actor(actor_type="user", actor_id=str(user.pk), actor_role=role)
    return user, role


# --- Filters ---------------------------------------------------------------------------------


class DefaultedFilter(admin.SimpleListFilter):
    """A filter with a default choice instead of Django's "All" (which is one of the choices)."""

    def default(self, request: HttpRequest) -> str:
        raise NotImplementedError

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        if self.parameter_name not in self.used_parameters:
            self.used_parameters[str(self.parameter_name)] = self.default(request)

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(value, label) for value, label in Status.choices if value in STAFF_VISIBLE]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(status=self.value()) if self.value() else queryset


class StateFilter(DefaultedFilter):
    """Open files by default; decided and closed ones only when asked."""

    title = _("files")
    parameter_name = "state"

    def default(self, request: HttpRequest) -> str:
        # A search (a citizen on the phone) looks at every file, open or not.
        return "all" if request.GET.get("q") else "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("Open")), ("done", _("Decided or closed")), ("all", _("All files"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if request.GET.get("status"):
            return queryset  # a status chosen explicitly wins
        if self.value() == "open":
            return queryset.filter(status__in=sorted(OPEN))
        if self.value() == "done":
            return queryset.exclude(status__in=sorted(OPEN))
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("yes", _("Overdue")),
            ("soon", _("Due within two working days")),
            ("waiting", _("Waiting for the citizen (clock stopped)")),
            ("no", _("On time")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(selectors.overdue_q())
        if self.value() == "soon":
            return queryset.filter(clock.due_soon_q())
        if self.value() == "waiting":
            return queryset.filter(status=Status.INFO_REQUESTED)
        if self.value() == "no":
            return queryset.exclude(selectors.overdue_q())
        return queryset


class AssigneeFilter(DefaultedFilter):
    """Agents see their own files first; supervisors, admins and auditors the whole agency."""

    title = _("assignee")
    parameter_name = "assigned"

    def default(self, request: HttpRequest) -> str:
        if request.GET.get("q"):
            return "all"  # a search looks at every file, whoever holds it
        return "me" if console_role(request) == Role.AGENT else "all"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", _("Me")), ("none", _("Nobody")), ("all", _("Everyone"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "me":
            return queryset.filter(assignee_id=request.user.pk)
        if self.value() == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset


# --- Forms -----------------------------------------------------------------------------------


class StaffChoiceField(forms.ModelChoiceField):
    """Members of the agency by name (or address)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.email or obj.pk)


class TransitionForm(forms.Form):
    """The intermediate page of a decision: reason or message, assignee, the ETag shown."""

    etag = forms.CharField(widget=forms.HiddenInput)
    assignee = StaffChoiceField(queryset=User.objects.none(), label=_("Assign to"), required=False)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )

    def __init__(self, *args: Any, action: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        transition = transition_get(action)
        assert transition is not None
        if transition.assignment is Assignment.GIVEN:
            assignee = cast(StaffChoiceField, self.fields["assignee"])
            assignee.required = True
            assignee.queryset = staff_members()
        else:
            del self.fields["assignee"]
        if transition.reason is Reason.NONE:
            del self.fields["reason"]
        else:
            self.fields["reason"].required = transition.reason is Reason.REQUIRED
            if action == "request_info":
                self.fields["reason"].label = _("Message to the citizen")


class BulkAssignForm(forms.Form):
    """Whom the selected applications go to, and an optional note for the history."""

    assignee = StaffChoiceField(queryset=User.objects.none(), label=_("Assign to"))
    reason = forms.CharField(
        label=_("Note (optional)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(StaffChoiceField, self.fields["assignee"]).queryset = staff_members()


def staff_members() -> QuerySet[User]:
    """Active members of this agency who may hold applications, by name."""
    return User.objects.filter(
        pk__in=Membership.objects.filter(
            agency__schema_name=current_schema(),
            is_active=True,
            role__in=sorted(STAFF_WORKERS),
        ).values("user_id"),
        is_active=True,
    ).order_by("last_name", "first_name")


# --- Inline notes ----------------------------------------------------------------------------


class InternalNoteFormSet(BaseInlineFormSet):
    """New notes are written through ``application_note_add`` (audit), never edited."""


class InternalNoteInline(RoleAdminMixin, admin.TabularInline):
    model = InternalNote
    formset = InternalNoteFormSet
    fields = ("body", "author_name", "created_at")
    readonly_fields = ("author_name", "created_at")
    extra = 1
    can_delete = False
    view_roles = frozenset({Role.AUDITOR})
    add_roles = WORKERS
    verbose_name = _("internal note")
    verbose_name_plural = _("internal notes (never shown to the citizen)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[InternalNote]:
        return super().get_queryset(request).select_related("author")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "body":
            # The table's column header is not a label: name the field for screen readers.
            kwargs["widget"] = forms.Textarea(
                attrs={"rows": 3, "aria-label": gettext("New internal note")}
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Existing notes are read-only; the inline still shows (and adds) for workers.
        return self._role_allows(request, WORKERS) if obj is None else False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, WORKERS | self.view_roles)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, WORKERS)

    @admin.display(description=_("author"))
    def author_name(self, note: InternalNote) -> str:
        if note.author_id is None:
            return ""
        return note.author.get_full_name() or str(note.author.email or note.author_id)


# --- The work queue and application page -----------------------------------------------------


@admin.register(Application)
class ApplicationAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Work queue (filters, overdue highlighted) and the application page."""

    view_roles = frozenset({Role.AUDITOR})
    change_roles = WORKERS
    list_display = (
        "reference_display",
        "service_name",
        "status_label",
        "citizen_name",
        "assignee_name",
        "submitted_on",
        "deadline",
    )
    list_display_links = ("reference_display",)
    list_filter = (StateFilter, AssigneeFilter, OverdueFilter, StatusFilter, "service")
    # Searched by ``get_search_results`` (reference, name without accents, phone, e-mail).
    search_fields = ("reference",)
    search_help_text = _(
        "Reference, citizen's name (accents optional), phone number or e-mail address."
    )
    list_per_page = 50
    ordering = ("due_at", "submitted_at")
    fields = (
        "reference",
        "service",
        "status",
        "citizen_name",
        "assignee_name",
        "submitted_at",
        "deadline",
        "decided_at",
        "decision_reason",
        "info_request",
    )
    readonly_fields = fields
    inlines = (InternalNoteInline,)
    actions = (
        "take_selected",
        "assign_selected",
        "request_info_selected",
        "approve_selected",
        "reject_selected",
    )
    change_form_template = "admin/applications/application/change_form.html"
    change_list_template = "admin/applications/application/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        return selectors.application_list_for_staff()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # citizens create applications, never the console

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Application], search_term: str
    ) -> tuple[QuerySet[Application], bool]:
        return selectors.application_search(queryset, search_term), False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "title": gettext("Applications"),
            # Every column at 1366 px: the breadcrumbs lead home, the page list would eat 300 px.
            "is_nav_sidebar_enabled": False,
            # The live queue (apps/realtime/console.py, queue-live.js).
            "realtime_token_url": reverse("console_realtime_token"),
            "realtime_gateway_port": settings.REALTIME_CONSOLE_GATEWAY_PORT,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """ "History" opens the application's timeline (Django's change log stays empty)."""
        url = reverse("admin:applications_application_change", args=[object_id])
        return HttpResponseRedirect(f"{url}#timeline")

    # --- columns ---

    @admin.display(description=_("reference"), ordering="reference")
    def reference_display(self, application: Application) -> str:
        return application.reference or "—"

    @admin.display(description=_("service"), ordering="service__code")
    def service_name(self, application: Application) -> str:
        return application.service.name

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, application: Application) -> str:
        # The row's mark for the live queue (queue-live.js): its status follows the gateway.
        return format_html(
            '<span data-application-id="{}"><span class="status status-{}" '
            "data-realtime-status>{}</span></span>",
            application.pk,
            application.status,
            application.get_status_display(),
        )

    @admin.display(description=_("citizen"), ordering="citizen__last_name")
    def citizen_name(self, application: Application) -> str:
        return person_name(application.citizen)

    @admin.display(description=_("assignee"))
    def assignee_name(self, application: Application) -> str:
        return person_name(application.assignee)

    @admin.display(description=_("submitted"), ordering="submitted_at")
    def submitted_on(self, application: Application) -> str:
        if application.submitted_at is None:
            return "—"
        return timezone.localtime(application.submitted_at).strftime("%d/%m/%Y")

    @admin.display(description=_("deadline"), ordering="due_at")
    def deadline(self, application: Application) -> str:
        if application.due_at is None:
            return "—"
        shown = timezone.localtime(application.due_at).strftime("%d/%m/%Y %H:%M")
        if application.status == Status.INFO_REQUESTED:
            return format_html(
                '<span class="deadline waiting">{}<br><small>{}</small></span>',
                shown,
                gettext("clock stopped"),
            )
        if application.is_overdue:
            return format_html(
                '<strong class="deadline overdue">⚠ {}<br><small>{}</small></strong>',
                shown,
                gettext("overdue"),
            )
        return format_html('<span class="deadline">{}</span>', shown)

    # --- the application page ---

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        user, role = console_actor(request)
        application = self._visible(object_id)
        if application is None or not self.has_view_permission(request, application):
            return self._missing(request)
        if request.method == "GET":
            services.application_view_record(application=application)
        context = {
            **(extra_context or {}),
            "is_nav_sidebar_enabled": False,
            "application": application,
            "answers": answer_rows(application.service.form_schema, application.form_data),
            "attachments": [
                (
                    attachment,
                    reverse(
                        "admin:applications_application_attachment",
                        args=[application.pk, attachment.pk],
                    ),
                )
                for attachment in application.attachments.all()
            ],
            "history": application.history.all(),
            "timeline": application_timeline(application),
            **self._clock_context(application),
            "audit_url": self._audit_url(request, application),
            "available_actions": self._action_links(application, user=user, role=role),
            "title": f"{application.reference or application.pk} — {application.service.name}",
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _clock_context(self, application: Application) -> dict[str, Any]:
        if application.status not in CLOCK_RUNNING:
            return {"working_days_left": None, "days_overdue": 0}
        left = clock.working_days_left(application.due_at)
        overdue = application.is_overdue
        return {"working_days_left": left, "days_overdue": max(1, -(left or 0)) if overdue else 0}

    def _audit_url(self, request: HttpRequest, application: Application) -> str:
        """The audit trail of this application, for those who may read it ('' otherwise)."""
        if console_role(request) not in (Role.AUDITOR, Role.AGENCY_ADMIN):
            return ""
        url = reverse("admin:audit_auditevent_changelist")
        return f"{url}?reference={application.reference or application.pk}"

    def _missing(self, request: HttpRequest) -> HttpResponse:
        """Like Django's own answer to a missing object: back to the queue with a message."""
        messages.warning(request, gettext("This application does not exist or is not visible."))
        return HttpResponseRedirect(reverse("admin:applications_application_changelist"))

    def _visible(self, object_id: str) -> Application | None:
        try:
            application_id = UUID(str(object_id))
        except ValueError:
            return None
        return selectors.application_get_for_staff(application_id=application_id)

    def _action_links(
        self, application: Application, *, user: User, role: str
    ) -> list[tuple[str, str]]:
        actions = actions_available(
            status=application.status,
            role=role,
            is_assignee=application.assignee_id == user.pk,
            has_assignee=application.assignee_id is not None,
        )
        links = []
        for action in actions:
            transition = transition_get(action)
            assert transition is not None
            url = reverse("admin:applications_application_act", args=[application.pk, action])
            links.append((str(transition.label), url))
        return links

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """The page edits nothing directly: decisions go through the action pages."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """New internal notes go through the service (role check and audit)."""
        if formset.model is not InternalNote:  # pragma: no cover - the only inline
            return
        user, role = console_actor(request)
        # What Django's change message reads after a save (nothing saved directly here).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for note_form in formset.forms:
            if note_form.instance.pk and not note_form.instance._state.adding:
                continue
            body = (note_form.cleaned_data or {}).get("body")
            if not body:
                continue
            try:
                services.application_note_add(
                    application_id=form.instance.pk, author=user, role=role, body=body
                )
            except ApplicationError as exc:
                messages.error(request, str(exc.detail))

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Changes are in the audit trail already (no duplicate admin log entries)."""
        return None

    # --- extra pages ---

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "statistics.csv",
                self.admin_site.admin_view(self.statistics_view),
                name="applications_application_statistics",
            ),
            path(
                "<uuid:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.transition_view),
                name="applications_application_act",
            ),
            path(
                "<uuid:object_id>/attachments/<uuid:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="applications_application_attachment",
            ),
        ]
        return extra + super().get_urls()

    def transition_view(self, request: HttpRequest, object_id: UUID, action: str) -> HttpResponse:
        """The intermediate page of an action: confirm, give a reason or an assignee."""
        user, role = console_actor(request)
        if action not in FORM_ACTIONS or not self.has_change_permission(request):
            raise PermissionDenied
        application = selectors.application_get_for_staff(application_id=object_id)
        if application is None:
            return self._missing(request)
        change_url = reverse("admin:applications_application_change", args=[application.pk])
        form = TransitionForm(
            request.POST if request.method == "POST" else None,
            action=action,
            initial={"etag": application.etag},
        )
        if request.method == "POST" and form.is_valid():
            assignee = form.cleaned_data.get("assignee")
            try:
                services.application_transition(
                    application_id=application.pk,
                    action=action,
                    actor=user,
                    role=role,
                    reason=form.cleaned_data.get("reason"),
                    assignee_id=assignee.pk if assignee is not None else None,
                    if_match=form.cleaned_data["etag"],
                )
            except ApplicationError as exc:
                messages.error(request, str(exc.detail))
                return HttpResponseRedirect(change_url)
            messages.success(request, gettext("Done."))
            return HttpResponseRedirect(change_url)
        transition = transition_get(action)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "application": application,
            "form": form,
            "action_label": transition.label if transition else action,
            "change_url": change_url,
            "title": transition.label if transition else action,
        }
        return TemplateResponse(
            request, "admin/applications/application/transition_form.html", context
        )

    def statistics_view(self, request: HttpRequest) -> HttpResponseBase:
        """Counts by period, service and status as CSV (``from``, ``to``, ``period``), audited."""
        console_actor(request)
        if console_role(request) not in STATISTICS_ROLES:
            raise PermissionDenied
        today = timezone.localdate()
        try:
            last = date.fromisoformat(request.GET.get("to") or today.isoformat())
            first = date.fromisoformat(
                request.GET.get("from") or (last - timedelta(days=365)).isoformat()
            )
        except ValueError:
            messages.error(request, gettext("Give the dates as YYYY-MM-DD."))
            return HttpResponseRedirect(reverse("admin:index"))
        period = request.GET.get("period") or "month"
        if period not in PERIODS or first > last:
            messages.error(request, gettext("Choose a period of month, week or day."))
            return HttpResponseRedirect(reverse("admin:index"))
        audit_record(
            action="applications.statistics_exported",
            target_type="statistics",
            target_id=current_schema(),
            changes={
                "from": {"old": None, "new": first.isoformat()},
                "to": {"old": None, "new": last.isoformat()},
                "period": {"old": None, "new": period},
            },
        )
        response = StreamingHttpResponse(
            statistics_csv(first=first, last=last, period=period),
            content_type="text/csv; charset=utf-8",
        )
        name = f"statistiques-{current_schema()}-{first}-{last}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def attachment_view(
        self, request: HttpRequest, object_id: UUID, attachment_id: UUID
    ) -> HttpResponseBase:
        """Stream a document to a member allowed to read the application (audited)."""
        console_actor(request)
        if not self.has_view_permission(request):
            raise PermissionDenied
        application = selectors.application_get_visible(application_id=object_id, citizen_id=None)
        attachment = (
            selectors.attachment_get(application=application, attachment_id=attachment_id)
            if application is not None
            else None
        )
        if attachment is None:
            raise Http404
        try:
            response = attachment_file_response(attachment)
        except AttachmentNotFound:
            raise Http404 from None
        services.attachment_download_record(attachment=attachment)
        return response

    # --- list actions ---

    @admin.action(description=_("Assign to me"))
    def take_selected(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        user, role = console_actor(request)
        taken = 0
        for application in queryset:
            try:
                services.application_transition(
                    application_id=application.pk,
                    action="take",
                    actor=user,
                    role=role,
                    if_match=application.etag,
                )
            except ApplicationError as exc:
                messages.warning(request, f"{application}: {exc.detail}")
            else:
                taken += 1
        if taken:
            messages.success(
                request,
                gettext("%(count)d application(s) assigned to you.") % {"count": taken},
            )

    @admin.action(description=_("Assign to…"))
    def assign_selected(
        self, request: HttpRequest, queryset: QuerySet[Application]
    ) -> HttpResponse | None:
        """Supervisors give the selected files to one member (``assign`` or ``reassign``)."""
        user, role = console_actor(request)
        if role not in (Role.SUPERVISOR, Role.AGENCY_ADMIN):
            raise PermissionDenied
        queryset = queryset.filter(status__in=sorted(OPEN))  # decided files stay where they are
        if not queryset.exists():
            messages.warning(request, gettext("Select open applications to assign them."))
            return None
        form = BulkAssignForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            assignee = form.cleaned_data["assignee"]
            done = 0
            for application in queryset.select_related(None):
                action = "assign" if application.status == Status.SUBMITTED else "reassign"
                try:
                    services.application_transition(
                        application_id=application.pk,
                        action=action,
                        actor=user,
                        role=role,
                        reason=form.cleaned_data.get("reason"),
                        assignee_id=assignee.pk,
                        if_match=application.etag,
                    )
                except ApplicationError as exc:
                    messages.warning(request, f"{application}: {exc.detail}")
                else:
                    done += 1
            if done:
                messages.success(
                    request,
                    gettext("%(count)d application(s) assigned to %(name)s.")
                    % {"count": done, "name": person_name(assignee)},
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Assign the selected applications"),
            "applications": list(queryset.select_related("service", "assignee")[:500]),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/applications/application/bulk_assign.html", context)

    def _one_action_page(
        self, request: HttpRequest, queryset: QuerySet[Application], action: str
    ) -> HttpResponse | None:
        applications = list(queryset[:2])
        if len(applications) != 1:
            messages.warning(request, gettext("Select exactly one application for this action."))
            return None
        return redirect("admin:applications_application_act", applications[0].pk, action)

    @admin.action(description=_("Request information"))
    def request_info_selected(
        self, request: HttpRequest, queryset: QuerySet[Application]
    ) -> HttpResponse | None:
        return self._one_action_page(request, queryset, "request_info")

    @admin.action(description=_("Approve"))
    def approve_selected(
        self, request: HttpRequest, queryset: QuerySet[Application]
    ) -> HttpResponse | None:
        return self._one_action_page(request, queryset, "approve")

    @admin.action(description=_("Reject (with a reason)"))
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Application]
    ) -> HttpResponse | None:
        return self._one_action_page(request, queryset, "reject")

    def get_actions(self, request: HttpRequest) -> Any:
        # Auditors read; the actions are for the roles that work applications.
        role = console_role(request)
        if role not in WORKERS:
            return {}
        actions = super().get_actions(request)
        if role == Role.AGENT:
            actions.pop("assign_selected", None)
        return actions


class ReferenceSequenceForm(forms.ModelForm):
    """The prefix is 1 to 8 capital letters (lowercase is accepted and raised)."""

    class Meta:
        model = ReferenceSequence
        fields = ("year", "prefix")

    def clean_prefix(self) -> str:
        prefix = str(self.cleaned_data.get("prefix") or "").strip().upper()
        if prefix and not PREFIX_RE.match(prefix):
            raise forms.ValidationError(gettext("Use 1 to 8 capital letters."))
        return prefix


@admin.register(ReferenceSequence)
class ReferenceSequenceAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Agency admins may override the prefix of a year's references (``EC`` by default)."""

    form = ReferenceSequenceForm

    view_roles = frozenset({Role.SUPERVISOR, Role.AUDITOR})
    add_roles = frozenset({Role.AGENCY_ADMIN})
    change_roles = frozenset({Role.AGENCY_ADMIN})
    list_display = ("year", "prefix", "last_number")
    fields = ("year", "prefix", "last_number")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("year", "last_number") if obj is not None else ("last_number",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        console_actor(request)
        saved = reference_prefix_set(year=obj.year, prefix=obj.prefix)
        obj.pk = saved.pk
        obj.last_number = saved.last_number

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None
