"""Catalogue writes: audited, indexed in the public schema in the same transaction, atomic."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.catalogue.models import PublicHoliday, Service
from apps.catalogue.services import (
    public_holiday_create,
    public_holiday_delete,
    public_holiday_update,
    service_create,
    service_publish,
    service_unpublish,
    service_update,
)
from apps.core.errors import ConflictError, InvalidInput
from apps.directory.models import ServiceEntry
from tests.catalogue.conftest import service_fields

pytestmark = pytest.mark.django_db


def _events(agency, action):
    with schema_context(agency.schema_name):
        return list(AuditEvent.objects.filter(action=action))


def test_create_audits_and_indexes_a_published_service(agency_a):
    with schema_context(agency_a.schema_name):
        service = service_create(**service_fields())

    (event,) = _events(agency_a, "service.created")
    assert event.target_type == "service"
    assert event.target_id == str(service.id)
    assert event.changes["code"] == {"old": None, "new": "copie-acte-naissance"}
    entry = ServiceEntry.objects.get(service_id=service.id)
    assert entry.agency_id == agency_a.id
    assert entry.name_fr == "Copie intégrale d'acte de naissance"
    assert entry.is_published is True
    assert entry.search_vector is not None


def test_a_draft_service_stays_out_of_the_public_index(agency_a):
    with schema_context(agency_a.schema_name):
        service = service_create(**service_fields(is_published=False))

    assert not ServiceEntry.objects.filter(service_id=service.id).exists()
    assert len(_events(agency_a, "service.created")) == 1


def test_an_invalid_json_schema_is_refused_and_nothing_is_written(agency_a):
    bad = service_fields(form_schema={"type": "object", "properties": {"a": {"type": "texte"}}})

    with schema_context(agency_a.schema_name):
        with pytest.raises(InvalidInput) as caught:
            service_create(**bad)
        assert Service.objects.count() == 0

    assert list(caught.value.errors) == ["form_schema"]
    assert _events(agency_a, "service.created") == []
    assert ServiceEntry.objects.count() == 0


def test_a_taken_code_is_refused(agency_a, make_service):
    make_service(agency_a)

    with schema_context(agency_a.schema_name), pytest.raises(InvalidInput) as caught:
        service_create(**service_fields(name_fr="Autre"))

    assert "code" in caught.value.errors


def test_the_same_code_in_two_agencies_is_two_services(agency_a, agency_b, make_service):
    a = make_service(agency_a)
    b = make_service(agency_b)

    assert a.id != b.id
    assert set(ServiceEntry.objects.values_list("agency__slug", flat=True)) == {
        "agence-a",
        "agence-b",
    }


def test_update_audits_the_changed_fields_and_refreshes_the_index(agency_a, make_service):
    service = make_service(agency_a)

    with schema_context(agency_a.schema_name):
        updated = service_update(
            service=service, changes={"name_fr": "Copie d'acte de naissance", "fee_xof": 1000}
        )

    assert updated.fee_xof == 1000
    (event,) = _events(agency_a, "service.updated")
    assert event.changes == {
        "fee_xof": {"old": 500, "new": 1000},
        "name_fr": {
            "old": "Copie intégrale d'acte de naissance",
            "new": "Copie d'acte de naissance",
        },
    }
    entry = ServiceEntry.objects.get(service_id=service.id)
    assert (entry.name_fr, entry.fee_xof) == ("Copie d'acte de naissance", 1000)


def test_an_update_that_changes_nothing_writes_nothing(agency_a, make_service):
    service = make_service(agency_a)

    with schema_context(agency_a.schema_name):
        service_update(service=service, changes={"fee_xof": 500})

    assert _events(agency_a, "service.updated") == []


def test_an_invalid_update_leaves_the_service_and_the_index_alone(agency_a, make_service):
    service = make_service(agency_a)

    with schema_context(agency_a.schema_name):
        with pytest.raises(InvalidInput) as caught:
            service_update(
                service=service,
                changes={"name_fr": "Nouveau nom", "document_types": [{"code": "x"}]},
            )
        service.refresh_from_db()

    assert list(caught.value.errors) == ["document_types"]
    assert service.name_fr == "Copie intégrale d'acte de naissance"
    assert ServiceEntry.objects.get(service_id=service.id).name_fr == service.name_fr
    assert _events(agency_a, "service.updated") == []


def test_publication_cannot_be_changed_through_update(agency_a, make_service):
    service = make_service(agency_a)

    with schema_context(agency_a.schema_name), pytest.raises(InvalidInput) as caught:
        service_update(service=service, changes={"is_published": False})

    assert list(caught.value.errors) == ["is_published"]


def test_unpublish_removes_from_the_index_and_publish_brings_it_back(agency_a, make_service):
    service = make_service(agency_a)

    with schema_context(agency_a.schema_name):
        service_unpublish(service=service)
        service_unpublish(service=service)  # no-op: already hidden
    assert not ServiceEntry.objects.filter(service_id=service.id).exists()

    with schema_context(agency_a.schema_name):
        service_publish(service=service)
    assert ServiceEntry.objects.filter(service_id=service.id, is_published=True).exists()
    assert len(_events(agency_a, "service.unpublished")) == 1
    assert len(_events(agency_a, "service.published")) == 1


def test_audit_and_index_roll_back_with_the_change(agency_a, make_service):
    service = make_service(agency_a, is_published=False)

    def publish_then_fail() -> None:
        with transaction.atomic():
            service_publish(service=service)
            assert ServiceEntry.objects.filter(service_id=service.id).exists()
            raise RuntimeError("the caller's transaction fails after the publication")

    with schema_context(agency_a.schema_name):
        with pytest.raises(RuntimeError):
            publish_then_fail()
        service.refresh_from_db()

    assert service.is_published is False
    assert not ServiceEntry.objects.filter(service_id=service.id).exists()
    assert _events(agency_a, "service.published") == []


def test_a_lost_race_on_the_code_is_a_conflict(agency_a, make_service, monkeypatch):
    make_service(agency_a)
    monkeypatch.setattr(Service, "validate_unique", lambda self, exclude=None: None)

    with schema_context(agency_a.schema_name):
        with pytest.raises(ConflictError) as caught:
            service_create(**service_fields(name_fr="Doublon"))
        assert Service.objects.count() == 1

    assert caught.value.code == "service_code_taken"


def test_holidays_are_audited(agency_a):
    with schema_context(agency_a.schema_name):
        holiday = public_holiday_create(
            date=dt.date(2026, 4, 27), name_fr="Fête de l'indépendance", name_en="Independence"
        )
        public_holiday_update(holiday=holiday, changes={"name_en": "Independence Day"})
        public_holiday_update(holiday=holiday, changes={"name_en": "Independence Day"})
        public_holiday_delete(holiday=holiday)
        public_holiday_delete(holiday=holiday)  # already gone: nothing more
        assert PublicHoliday.objects.count() == 0

    assert [len(_events(agency_a, f"holiday.{a}")) for a in ("created", "updated", "deleted")] == [
        1,
        1,
        1,
    ]


def test_holiday_rules(agency_a):
    with schema_context(agency_a.schema_name):
        public_holiday_create(date=dt.date(2026, 1, 1), name_fr="Jour de l'an", name_en="New Year")
        with pytest.raises(InvalidInput) as caught:
            public_holiday_create(date=dt.date(2026, 1, 1), name_fr="Doublon", name_en="Dup")
        holiday = PublicHoliday.objects.get()
        with pytest.raises(InvalidInput):
            public_holiday_update(holiday=holiday, changes={"id": 5})

    assert "date" in caught.value.errors
