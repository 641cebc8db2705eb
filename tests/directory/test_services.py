"""The public-schema indexes written by other apps' services (contract with applications)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from apps.catalogue.models import Service
from apps.core.tenancy import activate_agency, activate_public
from apps.directory.models import ApplicationEntry, ServiceEntry
from apps.directory.selectors import application_entry_list_for_citizen, service_entry_search
from apps.directory.services import (
    application_entry_agency_of,
    application_entry_upsert,
    service_entry_remove,
    service_entry_sync,
)
from tests.catalogue.conftest import service_fields

pytestmark = pytest.mark.django_db


def _upsert(application_id, agency, citizen, **overrides):
    fields = {
        "application_id": application_id,
        "agency_schema": agency.schema_name,
        "citizen_id": citizen.id,
        "reference": "",
        "service_code": "copie-acte-naissance",
        "service_name_fr": "Copie intégrale d'acte de naissance",
        "service_name_en": "Full copy of a birth certificate",
        "status": "draft",
        "submitted_at": None,
        "due_at": None,
        "updated_at": timezone.now(),
    }
    fields.update(overrides)
    application_entry_upsert(**fields)


def test_upsert_creates_then_updates_one_row(agency_a, citizen):
    application_id = uuid.uuid4()
    submitted = timezone.now()

    with schema_context(agency_a.schema_name):  # as the applications services call it
        _upsert(application_id, agency_a, citizen)
        _upsert(
            application_id,
            agency_a,
            citizen,
            reference="AA-2026-000001",
            status="submitted",
            submitted_at=submitted,
            due_at=submitted + dt.timedelta(days=3),
        )

    entry = ApplicationEntry.objects.get()
    assert entry.id == application_id
    assert (entry.reference, entry.status, entry.submitted_at) == (
        "AA-2026-000001",
        "submitted",
        submitted,
    )
    assert entry.agency_id == agency_a.id
    assert str(entry) == "AA-2026-000001"


def test_on_the_agency_of_the_request_the_agency_id_costs_no_query(agency_a, agency_b, citizen):
    """A request's connection carries its agency: the index row needs no lookup for its id, and
    an upsert for another schema than the connection's still finds that schema's agency."""
    application_id, other_id = uuid.uuid4(), uuid.uuid4()
    activate_agency(agency_a)
    try:
        with CaptureQueriesContext(connection) as queries:
            _upsert(application_id, agency_a, citizen)
        _upsert(other_id, agency_b, citizen)
    finally:
        activate_public()

    assert not [q for q in queries.captured_queries if "agencies_agency" in q["sql"]]
    assert ApplicationEntry.objects.get(pk=application_id).agency_id == agency_a.id
    assert ApplicationEntry.objects.get(pk=other_id).agency_id == agency_b.id


def test_the_entry_rolls_back_with_the_agency_transaction(agency_a, citizen):
    def write_then_fail() -> None:
        with schema_context(agency_a.schema_name), transaction.atomic():
            _upsert(uuid.uuid4(), agency_a, citizen)
            raise RuntimeError("the application service fails after writing the index")

    with pytest.raises(RuntimeError):
        write_then_fail()

    assert ApplicationEntry.objects.count() == 0


def test_agency_of_names_the_schema_holding_an_id(agency_a, agency_b, citizen):
    in_a, in_b = uuid.uuid4(), uuid.uuid4()
    _upsert(in_a, agency_a, citizen)
    _upsert(in_b, agency_b, citizen)

    assert application_entry_agency_of(application_id=in_a) == "agence_a"
    assert application_entry_agency_of(application_id=in_b) == "agence_b"
    assert application_entry_agency_of(application_id=uuid.uuid4()) is None


def test_a_citizen_lists_only_their_entries_newest_first(
    agency_a, agency_b, citizen, other_citizen, django_assert_max_num_queries
):
    now = timezone.now()
    older, newer = uuid.uuid4(), uuid.uuid4()
    _upsert(older, agency_a, citizen, updated_at=now - dt.timedelta(hours=1))
    _upsert(newer, agency_b, citizen, updated_at=now)
    _upsert(uuid.uuid4(), agency_a, other_citizen)

    with django_assert_max_num_queries(1):
        entries = [
            (e.id, e.agency.slug) for e in application_entry_list_for_citizen(citizen_id=citizen.id)
        ]

    assert entries == [(newer, "agence-b"), (older, "agence-a")]


def test_service_name_follows_the_language(agency_a, citizen):
    _upsert(uuid.uuid4(), agency_a, citizen)
    entry = ApplicationEntry.objects.get()

    with translation.override("en"):
        assert entry.service_name == "Full copy of a birth certificate"
    with translation.override("fr"):
        assert entry.service_name == "Copie intégrale d'acte de naissance"


def test_sync_then_remove_a_service_entry(agency_a):
    service = Service(**service_fields())

    service_entry_sync(agency_schema=agency_a.schema_name, service=service)
    service.name_fr = "Nouveau nom"
    service_entry_sync(agency_schema=agency_a.schema_name, service=service)

    entry = ServiceEntry.objects.get()
    assert entry.name_fr == "Nouveau nom"
    assert list(service_entry_search(q="nouveau")) == [entry]
    assert str(entry).startswith("copie-acte-naissance")

    service_entry_remove(agency_schema=agency_a.schema_name, service_id=service.id)
    assert ServiceEntry.objects.count() == 0


def test_a_stale_row_does_not_block_a_new_service_with_its_code(agency_a):
    gone, new = Service(**service_fields()), Service(**service_fields())
    service_entry_sync(agency_schema=agency_a.schema_name, service=gone)

    service_entry_sync(agency_schema=agency_a.schema_name, service=new)

    assert list(ServiceEntry.objects.values_list("service_id", flat=True)) == [new.id]


def test_entry_language_aware_texts(agency_a):
    service_entry_sync(agency_schema=agency_a.schema_name, service=Service(**service_fields()))
    entry = ServiceEntry.objects.get()

    with translation.override("en"):
        assert entry.name == "Full copy of a birth certificate"
        assert entry.description == "Issue of a full copy of the birth record."
    with translation.override("fr"):
        assert entry.description.startswith("Délivrance")
