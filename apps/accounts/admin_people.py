"""Console pages of an agency's people: its staff (memberships) and its invitations.

Agency admins see and manage their own agency's only (on its host); platform admins every
agency's (public host). Nobody else sees these pages. Every change goes through the services
of ``apps.accounts.people`` / ``invitations`` / ``passwords``, which audit it and end the
sessions of whoever loses access. Adding a person is an invitation: the console never stores
a person without a password they chose.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from apps.accounts import invitations, passwords, people
from apps.accounts.admin_site import console_role
from apps.accounts.identifiers import normalize_email, normalize_phone
from apps.accounts.invitations import agency_base_url
from apps.accounts.models import Invitation, Membership, Role
from apps.agencies.models import Agency
from apps.core.context import bind_actor
from apps.core.errors import ApplicationError
from apps.core.tenancy import current_schema


def _on_public() -> bool:
    return current_schema() == get_public_schema_name()


def _host_agency() -> Agency | None:
    if _on_public():
        return None
    return Agency.objects.filter(schema_name=current_schema()).first()


def people_admin_allowed(request: HttpRequest) -> bool:
    """Platform admins on the public host; this agency's admins on its host."""
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return False
    if _on_public():
        return bool(user.is_superuser)
    return console_role(request) == Role.AGENCY_ADMIN


def _bind(request: HttpRequest) -> None:
    role = console_role(request) or ("platform_admin" if request.user.is_superuser else "")
    bind_actor(actor_type="user", actor_id=str(request.user.pk), actor_role=role)


class _PeopleAdminBase(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return people_admin_allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return people_admin_allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # kept for the record: ended or revoked, never deleted

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request).select_related("agency")
        if _on_public():
            return queryset
        agency = _host_agency()
        return queryset.filter(agency=agency) if agency else queryset.none()

    def _run(self, request: HttpRequest, queryset: QuerySet[Any], service: Any, done: Any) -> None:
        _bind(request)
        count = 0
        for obj in queryset:
            try:
                service(obj)
            except ApplicationError as exc:
                self.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done, messages.SUCCESS)


class MembershipRoleForm(forms.ModelForm):
    """Only the role is changed in place; the rest are actions."""

    class Meta:
        model = Membership
        fields = ("role",)


@admin.register(Membership)
class MembershipAdmin(_PeopleAdminBase):
    """The staff of the agency: change a role, suspend, reactivate, end, reset a password."""

    list_display = ("person", "login", "agency", "role", "status", "created_at")
    list_filter = ("role", "is_active")
    list_select_related = ("user", "agency")
    search_fields = ("user__email", "user__phone", "user__last_name")
    form = MembershipRoleForm
    actions = ("suspend", "reactivate", "end", "reset_password")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return people_admin_allowed(request)  # the add page is the invitation's

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return people_admin_allowed(request)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("agency", *self.list_filter) if _on_public() else self.list_filter

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("person", "login", "agency", "status", "created_at", "suspended_at", "ended_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (
            "person",
            "login",
            "agency",
            "role",
            "status",
            "created_at",
            "suspended_at",
            "ended_at",
        )

    @admin.display(description=_("person"))
    def person(self, obj: Membership) -> str:
        return obj.user.get_full_name() or str(obj.user_id)

    @admin.display(description=_("login"))
    def login(self, obj: Membership) -> str:
        return str(obj.user.email or obj.user.phone or "")

    @admin.display(description=_("status"))
    def status(self, obj: Membership) -> str:
        return str(
            {
                "active": _("active"),
                "suspended": _("suspended"),
                "ended": _("ended"),
            }[obj.status]
        )

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """People join through an invitation (they choose their own password)."""
        return HttpResponseRedirect(reverse("admin:accounts_invitation_add"))

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        """A role change goes through the service (audited, sessions ended)."""
        _bind(request)
        role = obj.role
        original = Membership.objects.get(pk=obj.pk)
        obj.role = original.role  # the service compares with the stored one
        try:
            people.membership_change_role(membership=original, role=role, actor=request.user)
        except ApplicationError as exc:
            request._people_error = str(exc.detail)  # type: ignore[attr-defined]
            return
        obj.role = role

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the service audited it

    def response_change(self, request: HttpRequest, obj: Membership) -> HttpResponse:
        error = getattr(request, "_people_error", None)
        if error:
            self.message_user(request, error, messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description=_("Suspend (every session ends at once)"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._run(
            request,
            queryset,
            lambda m: people.membership_suspend(membership=m, actor=request.user),
            _("Suspended."),
        )

    @admin.action(description=_("Reactivate"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._run(
            request,
            queryset,
            lambda m: people.membership_reactivate(membership=m, actor=request.user),
            _("Reactivated."),
        )

    @admin.action(description=_("End the membership (every session ends at once)"))
    def end(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._run(
            request,
            queryset,
            lambda m: people.membership_end(membership=m, actor=request.user),
            _("Ended."),
        )

    @admin.action(description=_("Reset the password (a single-use link is sent)"))
    def reset_password(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        def reset(membership: Membership) -> None:
            if membership.user_id == request.user.pk:
                from apps.core.errors import ConflictError

                raise ConflictError(_("You cannot change or end your own membership."))
            passwords.staff_password_reset_force(
                membership=membership,
                actor=request.user,
                base_url=agency_base_url(membership.agency),
            )

        self._run(request, queryset, reset, _("A link to choose a new password was sent."))


class InvitationForm(forms.ModelForm):
    """Whom to invite: an e-mail address or a phone number, and the role (and, for platform
    admins, the agency)."""

    class Meta:
        model = Invitation
        fields = ("agency", "email", "phone", "role")

    def clean_email(self) -> str | None:
        value = self.cleaned_data.get("email")
        if not value:
            return None
        try:
            return normalize_email(value)
        except Exception as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_phone(self) -> str | None:
        value = self.cleaned_data.get("phone")
        if not value:
            return None
        try:
            return normalize_phone(value)
        except Exception as exc:
            raise forms.ValidationError(_("Enter a valid phone number.")) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("email")) == bool(cleaned.get("phone")):
            raise forms.ValidationError(_("Give an email address or a phone number (one of them)."))
        return cleaned


@admin.register(Invitation)
class InvitationAdmin(_PeopleAdminBase):
    """Invitations: created here (the link is sent at once), revoked by an action."""

    list_display = ("address", "agency", "role", "status_label", "created_at", "expires_at")
    list_display_links = ("address",)
    list_filter = ("role",)
    form = InvitationForm
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return people_admin_allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked and sent again, never edited

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "agency" in form.base_fields:
            field = cast(forms.ModelChoiceField, form.base_fields["agency"])
            field.queryset = Agency.objects.exclude(schema_name=get_public_schema_name())
            if not _on_public():
                field.queryset = Agency.objects.filter(schema_name=current_schema())
                field.initial = _host_agency()
                field.disabled = True
            elif "role" in form.base_fields:
                form.base_fields["role"].initial = Role.AGENCY_ADMIN
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("agency", "email", "phone", "role")
        return (
            "agency",
            "address",
            "role",
            "status_label",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    @admin.display(description=_("sent to"))
    def address(self, obj: Invitation) -> str:
        return str(obj.email or obj.phone or "")

    @admin.display(description=_("status"))
    def status_label(self, obj: Invitation) -> str:
        return str(
            {
                "pending": _("pending"),
                "accepted": _("accepted"),
                "revoked": _("revoked"),
                "expired": _("expired"),
            }[obj.status]
        )

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        """Create through the service, which sends the link."""
        _bind(request)
        agency = _host_agency() or form.cleaned_data["agency"]
        try:
            invitation = invitations.invitation_create(
                agency=agency,
                role=form.cleaned_data["role"],
                email=form.cleaned_data.get("email"),
                phone=form.cleaned_data.get("phone"),
                invited_by=request.user,
            )
        except ApplicationError as exc:
            request._people_error = str(exc.detail)  # type: ignore[attr-defined]
            return
        obj.pk = invitation.pk
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the service audited it

    def response_add(
        self, request: HttpRequest, obj: Invitation, post_url_continue: Any = None
    ) -> HttpResponse:
        error = getattr(request, "_people_error", None)
        if error:
            self.message_user(request, error, messages.ERROR)
            return HttpResponseRedirect(request.path)
        self.message_user(request, _("The invitation was sent."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_invitation_changelist"))

    @admin.action(description=_("Revoke (the link stops working)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        self._run(
            request,
            queryset,
            lambda i: invitations.invitation_revoke(invitation=i),
            _("Revoked."),
        )
