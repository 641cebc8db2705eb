"""Admin console registrations for identities (platform administrators, public host)."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from apps.accounts import admin_people  # noqa: F401 - registers the people pages
from apps.accounts.admin_site import console_role
from apps.accounts.models import PartnerClient, PartnerScope, Role, User
from apps.accounts.partners import (
    partner_client_create,
    partner_client_revoke,
    partner_secret_rotate,
)
from apps.agencies.models import Agency
from apps.audit.admin import AuditedAdminMixin
from apps.core.context import bind_actor
from apps.core.errors import ApplicationError
from apps.core.tenancy import current_schema


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

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """A civil servant is invited (they choose their own password): a person created here
        had no usable password and could never sign in. Citizens sign themselves up."""
        return HttpResponseRedirect(reverse("admin:accounts_invitation_add"))

    # Deactivating an account ends its sessions at once: ``User.save()`` revokes its tokens on
    # commit (apps/accounts/revocations.py), whatever path saves it.


def _agency_of_host() -> Agency | None:
    schema = current_schema()
    if schema == get_public_schema_name():
        return None
    return Agency.objects.filter(schema_name=schema).first()


class PartnerClientCreateForm(forms.ModelForm):
    """A new partner client: a name, one agency (fixed on an agency host) and its scopes."""

    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=PartnerScope.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = PartnerClient
        fields = ("name", "agency")


@admin.register(PartnerClient)
class PartnerClientAdmin(admin.ModelAdmin):
    """Partner clients, for platform admins (every agency, public host) and agency admins (their
    agency's, on its host). Created through ``partner_client_create``: the secret is shown on
    the next page, once, and stored hashed. Rotation and revocation are list actions; every
    step is audited by the services."""

    list_display = (
        "name",
        "client_id",
        "agency",
        "scopes",
        "is_active",
        "last_used_at",
        "created_at",
        "revoked_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "client_id")
    readonly_fields = (
        "client_id",
        "agency",
        "is_active",
        "created_at",
        "revoked_at",
        "last_used_at",
    )
    form = PartnerClientCreateForm
    actions = ("rotate_secret", "revoke")

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return False
        if current_schema() == get_public_schema_name():
            return bool(user.is_superuser)
        return bool(user.is_superuser) or console_role(request) == Role.AGENCY_ADMIN

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a client is rotated or revoked (actions), never edited in place

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, not deleted: the audit trail names it

    def get_queryset(self, request: HttpRequest) -> QuerySet[PartnerClient]:
        """An agency host shows only its agency's clients."""
        queryset = super().get_queryset(request).select_related("agency").prefetch_related("grants")
        agency = _agency_of_host()
        if current_schema() != get_public_schema_name():
            return queryset.filter(agency=agency) if agency else queryset.none()
        return queryset

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "agency" in form.base_fields:
            agency_field = cast(forms.ModelChoiceField, form.base_fields["agency"])
            agency_field.required = True
            if current_schema() != get_public_schema_name():
                agency_field.queryset = Agency.objects.filter(schema_name=current_schema())
                agency_field.initial = _agency_of_host()
                agency_field.disabled = True
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "agency", "scopes")
        return ("name", *self.readonly_fields)

    @admin.display(description=_("scopes"))
    def scopes(self, obj: PartnerClient) -> str:
        return " ".join(
            scope
            for grant in obj.grants.all()
            if grant.agency_id == obj.agency_id
            for scope in grant.scopes
        )

    def _bind(self, request: HttpRequest) -> None:
        role = console_role(request) or ("platform_admin" if request.user.is_superuser else "")
        bind_actor(actor_type="user", actor_id=str(request.user.pk), actor_role=role)

    def save_model(self, request: HttpRequest, obj: PartnerClient, form: Any, change: bool) -> None:
        """Create through the service; the secret waits on the request for ``response_add``."""
        self._bind(request)
        agency = _agency_of_host() or form.cleaned_data["agency"]
        client, secret = partner_client_create(
            name=form.cleaned_data["name"], grants={agency: form.cleaned_data["scopes"]}
        )
        obj.pk = client.pk
        obj.client_id = client.client_id
        obj.agency = client.agency
        obj.created_at = client.created_at
        obj._state.adding = False
        request._partner_secret = secret  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # the service wrote the grant

    def _secret_page(
        self, request: HttpRequest, client: PartnerClient, secret: str, **extra: Any
    ) -> HttpResponse:
        response = TemplateResponse(
            request,
            "admin/accounts/partnerclient/secret.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Secret of %(name)s") % {"name": client.name},
                "client": client,
                "secret": secret,
                "opts": self.model._meta,
                **extra,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def response_add(
        self, request: HttpRequest, obj: PartnerClient, post_url_continue: Any = None
    ) -> HttpResponse:
        """The secret, shown this once, instead of the usual redirect."""
        return self._secret_page(request, obj, request._partner_secret)  # type: ignore[attr-defined]

    @admin.action(
        description=_("Rotate the secret (the current one keeps working during the overlap)")
    )
    def rotate_secret(
        self, request: HttpRequest, queryset: QuerySet[PartnerClient]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Rotate one partner client at a time."), messages.ERROR)
            return None
        self._bind(request)
        try:
            issued = partner_secret_rotate(client=queryset.get())
        except ApplicationError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
            return None
        return self._secret_page(
            request, issued.client, issued.secret, previous_expires_at=issued.previous_expires_at
        )

    @admin.action(description=_("Revoke at once (its tokens stop working)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerClient]) -> None:
        self._bind(request)
        for client in queryset:
            partner_client_revoke(client=client)
        self.message_user(request, _("Revoked."), messages.SUCCESS)
