"""The citizen's journey on an agency host: draft, answers, submission, follow-up, withdrawal."""

from __future__ import annotations

import re
import uuid

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications.models import Application, HistoryEntry, ReferenceSequence
from apps.audit.models import AuditEvent
from apps.directory.models import ApplicationEntry
from tests.applications.conftest import DOC, SERVICE_CODE, VALID_FORM, advance, draft
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

LIST = "/api/v1/applications/"


def detail(application_id) -> str:
    return f"/api/v1/applications/{application_id}/"


def events(schema: str, application_id, action: str | None = None) -> list[AuditEvent]:
    with schema_context(schema):
        queryset = AuditEvent.objects.filter(target_id=str(application_id))
        if action:
            queryset = queryset.filter(action=action)
        return list(queryset)


def test_citizen_creates_a_draft_and_it_is_indexed(api, service_a, citizen, tokens):
    client = api(HOST_A, tokens(citizen).access)

    response = client.post(LIST, {"service": SERVICE_CODE}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["reference"] is None
    assert body["service"] == {"code": SERVICE_CODE, "name": "Copie d'acte de naissance"}
    assert body["form_data"] == {}
    assert body["actions"] == ["submit", "withdraw"]
    assert response["ETag"].startswith('"')
    with schema_context("agence_a"):
        application = Application.objects.get(pk=body["id"])
        assert application.citizen_id == citizen.id
        assert HistoryEntry.objects.filter(application=application, to_status="draft").count() == 1
    [event] = events("agence_a", body["id"], "application.created")
    assert event.changes["form_data"] == {"old": "[redacted]", "new": "[redacted]"}
    entry = ApplicationEntry.objects.get(pk=body["id"])
    assert (entry.citizen_id, entry.status, entry.agency.schema_name) == (
        citizen.id,
        "draft",
        "agence_a",
    )


def test_draft_for_an_unknown_or_unpublished_service_is_400(api, service_a, citizen, tokens):
    from tests.applications.conftest import service_create

    service_create("agence_a", code="brouillon", is_published=False)
    client = api(HOST_A, tokens(citizen).access)

    for code in ("nexiste-pas", "brouillon"):
        response = client.post(LIST, {"service": code}, format="json")
        body = assert_problem(response, 400, "service_unknown")
        assert "service" in body["errors"]
    with schema_context("agence_a"):
        assert not Application.objects.exists()
    assert not ApplicationEntry.objects.exists()


def test_a_service_of_agency_a_cannot_be_applied_for_on_agency_b(api, service_a, citizen, tokens):
    response = api(HOST_B, tokens(citizen).access).post(
        LIST, {"service": SERVICE_CODE}, format="json"
    )

    assert_problem(response, 400, "service_unknown")


def test_answers_failing_the_schema_are_400_with_field_errors_and_nothing_saved(
    api, service_a, citizen, tokens
):
    client = api(HOST_A, tokens(citizen).access)
    created = client.post(LIST, {"service": SERVICE_CODE}, format="json").json()
    before = len(events("agence_a", created["id"]))

    response = client.patch(
        detail(created["id"]),
        {"form_data": {"nom": "M", "naissance": {"date": "pas une date"}, "copies": 9}},
        format="json",
    )

    body = assert_problem(response, 400, "form_data_invalid")
    assert set(body["errors"]) == {"form_data.nom", "form_data.naissance.date", "form_data.copies"}
    with schema_context("agence_a"):
        application = Application.objects.get(pk=created["id"])
        assert application.form_data == {}
        assert application.version == 1
    assert len(events("agence_a", created["id"])) == before


def test_invalid_answers_at_creation_write_nothing(api, service_a, citizen, tokens):
    response = api(HOST_A, tokens(citizen).access).post(
        LIST, {"service": SERVICE_CODE, "form_data": {"copies": "deux"}}, format="json"
    )

    body = assert_problem(response, 400, "form_data_invalid")
    assert "form_data.copies" in body["errors"]
    with schema_context("agence_a"):
        assert not Application.objects.exists()
        assert not AuditEvent.objects.filter(action="application.created").exists()
    assert not ApplicationEntry.objects.exists()


def test_unknown_fields_in_the_body_are_refused(api, service_a, citizen, tokens):
    response = api(HOST_A, tokens(citizen).access).post(
        LIST, {"service": SERVICE_CODE, "status": "approved"}, format="json"
    )

    assert_problem(response, 400, "unknown_field")


def test_valid_answers_are_saved_and_audited_without_their_values(api, service_a, citizen, tokens):
    client = api(HOST_A, tokens(citizen).access)
    created = client.post(LIST, {"service": SERVICE_CODE}, format="json")

    response = client.patch(
        detail(created.json()["id"]),
        {"form_data": VALID_FORM},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )

    assert response.status_code == 200, response.content
    assert response.json()["form_data"] == VALID_FORM
    assert response["ETag"] != created["ETag"]
    [event] = events("agence_a", created.json()["id"], "application.form_updated")
    assert "Mensah" not in str(event.changes)


def test_patch_with_a_stale_etag_is_412(api, service_a, citizen, tokens):
    client = api(HOST_A, tokens(citizen).access)
    created = client.post(LIST, {"service": SERVICE_CODE}, format="json")
    client.patch(detail(created.json()["id"]), {"form_data": VALID_FORM}, format="json")

    response = client.patch(
        detail(created.json()["id"]),
        {"form_data": {**VALID_FORM, "copies": 3}},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )

    assert_problem(response, 412, "precondition_failed")


def test_submission_gives_a_reference_and_a_deadline(api, service_a, citizen, tokens):
    application = draft("agence_a", citizen)
    client = api(HOST_A, tokens(citizen).access)

    response = client.post(
        f"{detail(application.id)}submit/", format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert re.fullmatch(r"AA-\d{4}-\d{6}", body["reference"])
    assert body["submitted_at"]
    assert body["due_at"] > body["submitted_at"]
    assert body["actions"] == ["withdraw"]
    [event] = events("agence_a", application.id, "application.submitted")
    assert event.changes["status"] == {"old": "draft", "new": "submitted"}
    assert event.actor_id == str(citizen.id)
    entry = ApplicationEntry.objects.get(pk=application.id)
    assert (entry.status, entry.reference) == ("submitted", body["reference"])


def test_submission_needs_an_idempotency_key(api, service_a, citizen, tokens):
    application = draft("agence_a", citizen)

    response = api(HOST_A, tokens(citizen).access).post(f"{detail(application.id)}submit/")

    assert_problem(response, 400, "idempotency_key_required")
    with schema_context("agence_a"):
        assert Application.objects.get(pk=application.id).status == "draft"


def test_submission_replayed_with_the_same_key_submits_once(api, service_a, citizen, tokens):
    application = draft("agence_a", citizen)
    client = api(HOST_A, tokens(citizen).access)
    key = str(uuid.uuid4())

    first = client.post(
        f"{detail(application.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    again = client.post(
        f"{detail(application.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["reference"] == first.json()["reference"]
    assert len(events("agence_a", application.id, "application.submitted")) == 1
    with schema_context("agence_a"):
        assert ReferenceSequence.objects.get().last_number == 1


def test_replayed_key_with_another_body_is_422_and_changes_nothing(api, service_a, citizen, tokens):
    first_app = draft("agence_a", citizen)
    second_app = draft("agence_a", citizen)
    client = api(HOST_A, tokens(citizen).access)
    key = str(uuid.uuid4())
    client.post(f"{detail(first_app.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    response = client.post(
        f"{detail(second_app.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert_problem(response, 422, "idempotency_key_reused")
    with schema_context("agence_a"):
        assert Application.objects.get(pk=second_app.id).status == "draft"
        assert ReferenceSequence.objects.get().last_number == 1
    assert events("agence_a", second_app.id, "application.submitted") == []


def test_submission_with_invalid_answers_or_missing_documents_is_400(
    api, service_a, citizen, tokens
):
    client = api(HOST_A, tokens(citizen).access)
    without_document = draft("agence_a", citizen, attach=False)
    created = client.post(LIST, {"service": SERVICE_CODE}, format="json").json()

    missing = client.post(
        f"{detail(without_document.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    empty = client.post(
        f"{detail(created['id'])}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    body = assert_problem(missing, 400, "attachments_missing")
    assert list(body["errors"]) == [f"attachments.{DOC}"]
    body = assert_problem(empty, 400, "form_data_invalid")
    assert "form_data.nom" in body["errors"]
    with schema_context("agence_a"):
        assert set(Application.objects.values_list("status", flat=True)) == {"draft"}
        assert not ReferenceSequence.objects.filter(last_number__gt=0).exists()
        assert not AuditEvent.objects.filter(action="application.submitted").exists()


def test_a_service_unpublished_after_the_draft_refuses_the_submission(
    api, service_a, citizen, tokens
):
    application = draft("agence_a", citizen)
    with schema_context("agence_a"):
        service_a.is_published = False
        service_a.save()

    response = api(HOST_A, tokens(citizen).access).post(
        f"{detail(application.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert_problem(response, 409, "service_not_published")


def test_citizen_lists_and_reads_only_their_own(api, service_a, citizen, other_citizen, tokens):
    mine = [draft("agence_a", citizen, attach=False) for _ in range(3)]
    theirs = draft("agence_a", other_citizen, attach=False)
    client = api(HOST_A, tokens(citizen).access)

    listing = client.get(LIST, {"page_size": 2})
    page_two = client.get(LIST, {"page_size": 2, "page": 2})
    own = client.get(detail(mine[0].id))
    other = client.get(detail(theirs.id))

    assert listing.status_code == 200
    assert listing.json()["count"] == 3
    ids = {row["id"] for row in listing.json()["results"] + page_two.json()["results"]}
    assert ids == {str(a.id) for a in mine}
    assert own.status_code == 200
    assert own["ETag"]
    assert_problem(other, 404, "application_not_found")
    assert not AuditEvent.objects.filter(action="access.cross_agency_denied").exists()


def test_another_citizen_cannot_change_or_submit_it(api, service_a, citizen, other_citizen, tokens):
    application = draft("agence_a", citizen)
    client = api(HOST_A, tokens(other_citizen).access)

    responses = [
        client.patch(detail(application.id), {"form_data": VALID_FORM}, format="json"),
        client.post(
            f"{detail(application.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x"
        ),
        client.post(f"{detail(application.id)}withdraw/", {}, format="json"),
        client.post(f"{detail(application.id)}answer-info/", {}, format="json"),
    ]

    for response in responses:
        assert_problem(response, 404, "application_not_found")
    with schema_context("agence_a"):
        assert Application.objects.get(pk=application.id).version == application.version


def test_an_id_of_agency_a_asked_on_agency_b_is_404_and_the_probe_is_recorded(
    api, service_a, citizen, tokens
):
    application = draft("agence_a", citizen)

    response = api(HOST_B, tokens(citizen).access).get(detail(application.id))

    assert_problem(response, 404, "application_not_found")
    probe = AuditEvent.objects.get(action="access.cross_agency_denied")
    assert (probe.outcome, probe.target_id, probe.agency_schema) == (
        "denied",
        str(application.id),
        "public",
    )
    assert probe.changes["requested_on"]["new"] == "agence_b"


def test_cross_agency_probe_through_submit_is_recorded_despite_the_idempotency_transaction(
    api, service_a, citizen, tokens
):
    application = draft("agence_a", citizen)

    response = api(HOST_B, tokens(citizen).access).post(
        f"{detail(application.id)}submit/", {}, format="json", HTTP_IDEMPOTENCY_KEY="probe"
    )

    assert_problem(response, 404, "application_not_found")
    assert AuditEvent.objects.filter(
        action="access.cross_agency_denied", target_id=str(application.id)
    ).exists()


def test_an_unknown_id_is_404_without_probe(api, service_a, citizen, tokens):
    response = api(HOST_A, tokens(citizen).access).get(detail(uuid.uuid4()))

    assert_problem(response, 404, "application_not_found")
    assert not AuditEvent.objects.filter(action="access.cross_agency_denied").exists()


@pytest.mark.parametrize("status", ["draft", "submitted", "in_review", "info_requested"])
def test_citizen_withdraws_before_a_decision(api, in_state, citizen, tokens, status, service_a):
    application = in_state(status)

    response = api(HOST_A, tokens(citizen).access).post(
        f"{detail(application.id)}withdraw/", {"reason": "Plus besoin"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    assert response.json()["history"][-1]["reason"] == "Plus besoin"
    assert len(events("agence_a", application.id, "application.withdrawn")) == 1


@pytest.mark.parametrize("status", ["approved", "rejected", "withdrawn", "closed"])
def test_withdrawal_after_a_decision_is_409_and_writes_nothing(
    api, in_state, citizen, tokens, status, service_a
):
    application = in_state(status)
    before = len(events("agence_a", application.id))

    response = api(HOST_A, tokens(citizen).access).post(
        f"{detail(application.id)}withdraw/", {}, format="json"
    )

    body = assert_problem(response, 409, "transition_not_allowed")
    assert body["current_status"] == status
    assert len(events("agence_a", application.id)) == before
    with schema_context("agence_a"):
        assert Application.objects.get(pk=application.id).status == status


def test_citizen_answers_an_information_request(api, in_state, citizen, tokens, service_a):
    application = in_state("info_requested")
    client = api(HOST_A, tokens(citizen).access)
    seen = client.get(detail(application.id)).json()
    assert seen["info_request"] == "Photo illisible"
    assert seen["actions"] == ["withdraw", "answer_info"]

    response = client.post(
        f"{detail(application.id)}answer-info/",
        {"message": "Nouvelle photo jointe", "form_data": {**VALID_FORM, "copies": 3}},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["info_request"] == ""
    assert body["form_data"]["copies"] == 3
    assert [h["action"] for h in body["history"]][-2:] == ["request_info", "answer_info"]
    assert body["history"][-2]["reason"] == "Photo illisible"


def test_answer_with_invalid_answers_is_400_and_the_request_stays_open(
    api, in_state, citizen, tokens, service_a
):
    application = in_state("info_requested")

    response = api(HOST_A, tokens(citizen).access).post(
        f"{detail(application.id)}answer-info/",
        {"form_data": {**VALID_FORM, "copies": 0}},
        format="json",
    )

    assert_problem(response, 400, "form_data_invalid")
    with schema_context("agence_a"):
        current = Application.objects.get(pk=application.id)
        assert (current.status, current.info_request) == ("info_requested", "Photo illisible")


def test_answer_info_when_nothing_was_asked_is_409(api, in_state, citizen, tokens, service_a):
    application = in_state("submitted")

    response = api(HOST_A, tokens(citizen).access).post(
        f"{detail(application.id)}answer-info/", {}, format="json"
    )

    assert_problem(response, 409, "transition_not_allowed")


def test_answers_cannot_change_once_submitted(api, in_state, citizen, tokens, service_a):
    application = in_state("submitted")

    response = api(HOST_A, tokens(citizen).access).patch(
        detail(application.id), {"form_data": VALID_FORM}, format="json"
    )

    assert_problem(response, 409, "application_not_editable")


def test_internal_reasons_are_not_shown_to_the_citizen(
    api, in_state, citizen, tokens, staff_of, agency_a, service_a
):
    application = in_state("in_review")
    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    other_agent = staff_of(agency_a, Role.AGENT)
    advance(
        "agence_a",
        application,
        "reassign",
        supervisor,
        Role.SUPERVISOR,
        assignee_id=other_agent.id,
        reason="Agent en congé",
    )

    body = api(HOST_A, tokens(citizen).access).get(detail(application.id)).json()

    assert body["history"][-1]["action"] == "reassign"
    assert body["history"][-1]["reason"] == ""
    assert "assignee" not in body


def test_errors_are_french_by_default_and_follow_accept_language(api, citizen, tokens):
    client = api(HOST_A, tokens(citizen).access)

    french = client.get(detail(uuid.uuid4()))
    english = client.get(detail(uuid.uuid4()), HTTP_ACCEPT_LANGUAGE="en")

    assert assert_problem(french, 404, "application_not_found")["detail"] == "Demande introuvable."
    assert assert_problem(english, 404, "application_not_found")["detail"] == "No such application."
