"""The catalogue in the agency console: agency admins edit through the services, others read."""

from __future__ import annotations

import html
import json

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from apps.catalogue.models import PublicHoliday, Service
from apps.directory.models import ServiceEntry
from tests.catalogue.conftest import PDF_DOCUMENT, birth_form
from tests.conftest import HOST_A
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

SERVICES = "/admin/catalogue/service/"
HOLIDAYS = "/admin/catalogue/publicholiday/"
READERS = (Role.AGENT, Role.SUPERVISOR, Role.AUDITOR)


@pytest.fixture
def console(client, agency_a, staff_of):
    """``console(role, agency=agency_a, host=HOST_A)`` -> (user, signed-in client)."""

    def make(role: str, agency=None, host: str = HOST_A):
        user = staff_of(agency or agency_a, role)
        client.defaults["HTTP_HOST"] = host
        otp_login(client, user)
        return user, client

    return make


def _form(**overrides) -> dict:
    data = {
        "code": "copie-acte-naissance",
        "name_fr": "Copie intégrale d'acte de naissance",
        "name_en": "Full copy of a birth certificate",
        "description_fr": "Délivrance d'une copie intégrale de l'acte de naissance.",
        "description_en": "Issue of a full copy of the birth record.",
        "category": "etat-civil",
        "fee_xof": "500",
        "sla_working_days": "3",
        "is_published": "on",
        "form_schema": json.dumps(birth_form(), ensure_ascii=False),
        "document_types": json.dumps([PDF_DOCUMENT], ensure_ascii=False),
    }
    # The hidden initial value the page carries (the model field has a callable default).
    data["initial-document_types"] = data["document_types"]
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _events(action: str) -> list[AuditEvent]:
    with schema_context("agence_a"):
        return list(AuditEvent.objects.filter(action=action))


def _services() -> list[Service]:
    with schema_context("agence_a"):
        return list(Service.objects.all())


# --- Permission matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*READERS, Role.AGENCY_ADMIN])
def test_every_role_of_the_agency_sees_the_services(console, make_service, agency_a, role):
    service = make_service(agency_a)
    _, client = console(role)

    listing = client.get(SERVICES)
    page = client.get(f"{SERVICES}{service.id}/change/")

    assert listing.status_code == 200
    assert "copie-acte-naissance" in listing.content.decode()
    assert page.status_code == 200
    assert client.get(HOLIDAYS).status_code == 200


@pytest.mark.parametrize("role", READERS)
def test_other_roles_cannot_add_or_change(console, make_service, agency_a, role):
    service = make_service(agency_a)
    _, client = console(role)

    add = client.post(f"{SERVICES}add/", _form(code="autre"))
    change = client.post(f"{SERVICES}{service.id}/change/", _form(fee_xof="9000"))
    holiday = client.post(f"{HOLIDAYS}add/", {"date": "2026-04-27", "name_fr": "x", "name_en": "x"})

    assert add.status_code == change.status_code == holiday.status_code == 403
    assert [s.fee_xof for s in _services()] == [500]
    assert _events("service.updated") == []
    with schema_context("agence_a"):
        assert PublicHoliday.objects.count() == 0


@pytest.mark.parametrize("role", [*READERS, Role.AGENCY_ADMIN])
def test_nobody_deletes_a_service_from_the_console(console, make_service, agency_a, role):
    service = make_service(agency_a)
    _, client = console(role)

    response = client.post(f"{SERVICES}{service.id}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert len(_services()) == 1


def test_staff_of_another_agency_is_sent_to_the_login_page(console, agency_b):
    _, client = console(Role.AGENCY_ADMIN, agency=agency_b, host=HOST_A)

    response = client.get(SERVICES)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_agency_b_services_are_not_in_agency_a_console(console, make_service, agency_b):
    make_service(agency_b, code="permis-de-construire")
    _, client = console(Role.AGENCY_ADMIN)

    assert "permis-de-construire" not in client.get(SERVICES).content.decode()


# --- Agency admins edit through the services -----------------------------------------------------


def test_an_agency_admin_adds_a_service_audited_and_indexed(console):
    admin_user, client = console(Role.AGENCY_ADMIN)

    response = client.post(f"{SERVICES}add/", _form())

    assert response.status_code == 302, response.content.decode()[:2000]
    (service,) = _services()
    assert service.form_schema == birth_form()
    assert service.document_types == [PDF_DOCUMENT]
    (event,) = _events("service.created")
    assert event.actor_id == str(admin_user.id)
    assert event.actor_role == Role.AGENCY_ADMIN
    assert ServiceEntry.objects.filter(service_id=service.id).exists()


def test_invalid_json_is_explained_with_its_position(console):
    _, client = console(Role.AGENCY_ADMIN)

    response = client.post(f"{SERVICES}add/", _form(form_schema='{"type": "object",\n  oops}'))

    assert response.status_code == 200
    page = response.content.decode()
    assert "ligne 2" in page or "line 2" in page
    assert _services() == []


def test_an_invalid_json_schema_is_refused_with_a_field_error(console):
    _, client = console(Role.AGENCY_ADMIN)
    bad = {"type": "object", "properties": {"nom": {"type": "texte"}}}

    response = client.post(f"{SERVICES}add/", _form(form_schema=json.dumps(bad)))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "form_schema" in form.errors
    assert "properties/nom/type" in form.errors["form_schema"][0]
    assert _services() == []
    assert _events("service.created") == []
    assert ServiceEntry.objects.count() == 0


def test_bad_document_types_are_refused(console):
    _, client = console(Role.AGENCY_ADMIN)

    response = client.post(f"{SERVICES}add/", _form(document_types='[{"code": "x"}]'))

    assert response.status_code == 200
    assert "document_types" in response.context["adminform"].form.errors
    assert _services() == []


def test_empty_document_types_mean_none(console):
    _, client = console(Role.AGENCY_ADMIN)

    response = client.post(f"{SERVICES}add/", _form(document_types=""))

    assert response.status_code == 302
    assert _services()[0].document_types == []


def test_a_change_is_audited_and_unpublishing_leaves_the_search(console, make_service, agency_a):
    service = make_service(agency_a)
    _, client = console(Role.AGENCY_ADMIN)

    page = html.unescape(client.get(f"{SERVICES}{service.id}/change/").content.decode())
    response = client.post(
        f"{SERVICES}{service.id}/change/", _form(fee_xof="1000", is_published=None)
    )

    assert '"title": "Nom complet"' in page  # the schema is shown indented, accents kept
    assert response.status_code == 302
    (updated,) = _services()
    assert (updated.fee_xof, updated.is_published) == (1000, False)
    (event,) = _events("service.updated")
    assert event.changes == {"fee_xof": {"old": 500, "new": 1000}}
    assert len(_events("service.unpublished")) == 1
    assert not ServiceEntry.objects.filter(service_id=service.id).exists()


def test_saving_without_changes_writes_no_event(console, make_service, agency_a):
    service = make_service(agency_a)
    _, client = console(Role.AGENCY_ADMIN)

    response = client.post(f"{SERVICES}{service.id}/change/", _form())

    assert response.status_code == 302
    assert _events("service.updated") == []


def test_publish_and_unpublish_actions(console, make_service, agency_a):
    draft = make_service(agency_a, is_published=False)
    _, client = console(Role.AGENCY_ADMIN)

    published = client.post(
        SERVICES, {"action": "publish_selected", "_selected_action": [str(draft.id)]}
    )
    published_again = client.post(
        SERVICES, {"action": "publish_selected", "_selected_action": [str(draft.id)]}
    )
    assert ServiceEntry.objects.filter(service_id=draft.id).exists()
    unpublished = client.post(
        SERVICES, {"action": "unpublish_selected", "_selected_action": [str(draft.id)]}
    )

    assert published.status_code == published_again.status_code == unpublished.status_code == 302
    assert len(_events("service.published")) == 1
    assert len(_events("service.unpublished")) == 1
    assert not ServiceEntry.objects.filter(service_id=draft.id).exists()


def test_an_agent_has_no_publish_action(console, make_service, agency_a):
    draft = make_service(agency_a, is_published=False)
    _, client = console(Role.AGENT)

    client.post(SERVICES, {"action": "publish_selected", "_selected_action": [str(draft.id)]})

    assert _events("service.published") == []


def test_the_console_is_french_by_default(console):
    _, client = console(Role.AGENCY_ADMIN)

    page = client.get(f"{SERVICES}add/").content.decode()

    assert "Délai (jours ouvrés)" in page
    assert "Formulaire (JSON Schema)" in page


# --- Holidays ------------------------------------------------------------------------------------


def test_an_agency_admin_manages_holidays_through_the_services(console):
    admin_user, client = console(Role.AGENCY_ADMIN)

    added = client.post(
        f"{HOLIDAYS}add/",
        {"date": "2026-04-27", "name_fr": "Fête de l'indépendance", "name_en": "Independence"},
    )
    with schema_context("agence_a"):
        holiday = PublicHoliday.objects.get()
    changed = client.post(
        f"{HOLIDAYS}{holiday.pk}/change/",
        {"date": "2026-04-27", "name_fr": "Fête de l'indépendance", "name_en": "Independence Day"},
    )
    deleted = client.post(f"{HOLIDAYS}{holiday.pk}/delete/", {"post": "yes"})

    assert added.status_code == changed.status_code == deleted.status_code == 302
    (created,) = _events("holiday.created")
    assert created.actor_id == str(admin_user.id)
    assert len(_events("holiday.updated")) == 1
    assert len(_events("holiday.deleted")) == 1
    with schema_context("agence_a"):
        assert PublicHoliday.objects.count() == 0


def test_holidays_deleted_in_bulk_are_each_audited(console, agency_a):
    _, client = console(Role.AGENCY_ADMIN)
    with schema_context("agence_a"):
        ids = [
            PublicHoliday.objects.create(date=f"2026-0{m}-01", name_fr="x", name_en="x").pk
            for m in (1, 5)
        ]

    response = client.post(
        HOLIDAYS,
        {"action": "delete_selected", "_selected_action": [str(i) for i in ids], "post": "yes"},
    )

    assert response.status_code == 302
    assert len(_events("holiday.deleted")) == 2


def test_unpublishing_alone_writes_only_the_unpublication(console, make_service, agency_a):
    service = make_service(agency_a)
    _, client = console(Role.AGENCY_ADMIN)

    response = client.post(f"{SERVICES}{service.id}/change/", _form(is_published=None))

    assert response.status_code == 302
    assert _events("service.updated") == []
    assert len(_events("service.unpublished")) == 1


def test_the_json_field_round_trips_readable_text():
    from django.forms.fields import InvalidJSONInput

    from apps.catalogue.admin import PrettyJSONField

    field = PrettyJSONField(required=False)

    assert field.to_python([1, "é"]) == [1, "é"]
    assert field.to_python("   ") is None
    assert field.prepare_value({"titre": "Nom complet"}) == '{\n  "titre": "Nom complet"\n}'
    assert field.prepare_value(InvalidJSONInput("{oops")) == "{oops"
