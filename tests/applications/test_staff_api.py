"""The staff work queue: filters, ordering, pagination, detail, decisions with If-Match."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.applications.models import Application, HistoryEntry, InternalNote
from apps.audit.models import AuditEvent
from apps.directory.models import ApplicationEntry
from tests.applications.conftest import advance, draft, service_create
from tests.conftest import HOST_A
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

QUEUE = "/api/v1/staff/applications/"


def detail(application) -> str:
    return f"{QUEUE}{application.id}/"


@pytest.fixture
def staff(agency_a, staff_of, tokens, api):
    """``staff(role)`` -> (user, client) for agency A."""

    def make(role: str = Role.AGENT):
        user = staff_of(agency_a, role)
        token = tokens(user, TokenKind.STAFF, agency=agency_a, role=role).access
        return user, api(HOST_A, token)

    return make


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def test_the_queue_lists_submitted_work_but_never_drafts(in_state, staff, service_a):
    submitted = in_state("submitted")
    in_review = in_state("in_review")
    in_state("draft")
    _, client = staff(Role.AGENT)

    response = client.get(QUEUE)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert set(ids(response)) == {str(submitted.id), str(in_review.id)}
    row = next(r for r in body["results"] if r["id"] == str(in_review.id))
    assert row["service"]["code"] == "copie-acte-naissance"
    assert row["citizen"]["name"] == "Afi Mensah"
    assert row["assignee"]["id"] == str(in_review.assignee_id)
    assert row["is_overdue"] is False


def test_filters(in_state, staff, service_a, agency_a, citizen):
    agent, client = staff(Role.AGENT)
    submitted = in_state("submitted")
    mine = in_state("in_review", agent=agent)
    someone_elses = in_state("in_review")
    approved = in_state("approved")
    service_create("agence_a", code="certificat-residence", name_fr="Certificat de résidence")
    with schema_context("agence_a"):
        late = in_state("submitted")
        Application.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(days=1))
        Application.objects.filter(pk=approved.pk).update(
            due_at=timezone.now() - dt.timedelta(days=1),
            submitted_at=timezone.now() - dt.timedelta(days=40),
        )
        reference = Application.objects.get(pk=submitted.pk).reference

    def query(**params) -> set[str]:
        response = client.get(QUEUE, params)
        assert response.status_code == 200, response.content
        return set(ids(response))

    assert query(status="submitted") == {str(submitted.id), str(late.id)}
    assert query(status="draft") == set()  # staff never see drafts
    assert query(status=["approved", "in_review"]) == {
        str(mine.id),
        str(someone_elses.id),
        str(approved.id),
    }
    assert query(assignee="me") == {str(mine.id)}
    assert query(assignee=str(someone_elses.assignee_id)) == {str(someone_elses.id)}
    assert query(assignee="none") == {str(submitted.id), str(late.id)}
    assert query(overdue="true") == {str(late.id)}  # the approved one is decided: never overdue
    assert str(late.id) not in query(overdue="false")
    assert query(reference=reference.lower()) == {str(submitted.id)}
    assert len(query(service="copie-acte-naissance")) == 5
    assert query(service="certificat-residence") == set()
    today = timezone.localdate()
    assert str(approved.id) not in query(submitted_from=today.isoformat())
    assert query(submitted_to=(today - dt.timedelta(days=30)).isoformat()) == {str(approved.id)}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "nonsense"}, "status"),
        ({"assignee": "quelqu-un"}, "assignee"),
        ({"submitted_from": "hier"}, "submitted_from"),
        ({"overdue": "peut-etre"}, "overdue"),
    ],
)
def test_invalid_filters_are_400(staff, params, field, service_a):
    _, client = staff(Role.AGENT)

    response = client.get(QUEUE, params)

    body = assert_problem(response, 400, "validation_failed")
    assert field in body["errors"]


def test_filter_errors_follow_each_request_language_and_values_never_leak(staff, service_a):
    """The filter form class is built once per language and shared by requests: the messages
    are still in each request's language, and one request's values never reach another."""
    _, client = staff(Role.AGENT)

    french = client.get(QUEUE, {"status": "nonsense"}, HTTP_ACCEPT_LANGUAGE="fr")
    english = client.get(QUEUE, {"status": "nonsense"}, HTTP_ACCEPT_LANGUAGE="en")
    french_again = client.get(QUEUE, {"status": "nonsense"}, HTTP_ACCEPT_LANGUAGE="fr")
    valid = client.get(QUEUE, {"status": "submitted"}, HTTP_ACCEPT_LANGUAGE="fr")

    french_message = assert_problem(french, 400, "validation_failed")["errors"]["status"][0]
    english_message = assert_problem(english, 400, "validation_failed")["errors"]["status"][0]
    assert "nonsense" in english_message
    assert "valid choice" in english_message
    assert "nonsense" in french_message
    assert "valid choice" not in french_message
    assert assert_problem(french_again, 400, "validation_failed")["errors"]["status"] == [
        french_message
    ]
    assert valid.status_code == 200


def test_ordering_and_pagination(in_state, staff, service_a):
    applications = [in_state("submitted") for _ in range(3)]
    with schema_context("agence_a"):
        for index, application in enumerate(applications):
            Application.objects.filter(pk=application.pk).update(
                due_at=timezone.now() + dt.timedelta(days=10 - index)
            )
    _, client = staff(Role.SUPERVISOR)

    default = client.get(QUEUE)
    by_due_desc = client.get(QUEUE, {"ordering": "-due_at"})
    page = client.get(QUEUE, {"page_size": 2, "page": 2, "ordering": "reference"})

    assert ids(default) == [str(a.id) for a in reversed(applications)]
    assert ids(by_due_desc) == [str(a.id) for a in applications]
    assert page.json()["count"] == 3
    assert len(ids(page)) == 1


def test_the_queue_runs_the_same_queries_for_5_or_50_rows(in_state, staff, service_a):
    _, client = staff(Role.SUPERVISOR)
    for index in range(55):
        in_state("in_review" if index % 2 else "submitted")

    client.get(QUEUE)  # warm-up: the first request also sets the connection's search_path
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(QUEUE, {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)

    assert counts[5] == counts[50]
    # Host lookup (middleware), token user, count, one page query with the service, the
    # citizen and the assignee joined.
    assert counts[50] <= 4


def test_detail_shows_labelled_answers_history_documents_and_notes_and_is_audited(
    in_state, staff, service_a
):
    agent, client = staff(Role.AGENT)
    application = in_state("in_review", agent=agent)
    client.post(f"{detail(application)}notes/", {"body": "Vérifier l'acte"}, format="json")

    response = client.get(detail(application))

    assert response.status_code == 200
    body = response.json()
    assert response["ETag"] == Application(id=application.id, version=body["version"]).etag
    assert {
        "path": "naissance.date",
        "label": "Naissance › Date de naissance",
        "value": "2001-04-12",
    } in body["answers"]
    assert {"path": "nom", "label": "Nom de famille", "value": "Mensah"} in body["answers"]
    assert [h["action"] for h in body["history"]] == ["create", "submit", "take"]
    assert body["history"][-1]["actor"]["id"] == str(agent.id)
    assert body["attachments"][0]["document_type"] == "piece-identite"
    assert body["notes"][0]["body"] == "Vérifier l'acte"
    assert body["actions"] == ["request_info", "approve", "reject"]
    with schema_context("agence_a"):
        viewed = AuditEvent.objects.get(action="application.viewed")
        assert (viewed.actor_id, viewed.target_id) == (str(agent.id), str(application.id))


def test_detail_of_a_draft_or_unknown_id_is_404(service_a, citizen, staff):
    application = draft("agence_a", citizen)
    _, client = staff(Role.SUPERVISOR)

    assert_problem(client.get(detail(application)), 404, "application_not_found")
    assert_problem(client.get(f"{QUEUE}{uuid.uuid4()}/"), 404, "application_not_found")
    with schema_context("agence_a"):
        assert not AuditEvent.objects.filter(action="application.viewed").exists()


def test_an_agent_takes_then_approves_with_if_match(in_state, staff, service_a, citizen):
    agent, client = staff(Role.AGENT)
    application = in_state("submitted")
    etag = client.get(detail(application))["ETag"]

    taken = client.post(f"{detail(application)}take/", format="json", HTTP_IF_MATCH=etag)
    approved = client.post(
        f"{detail(application)}approve/",
        {"reason": "Dossier complet"},
        format="json",
        HTTP_IF_MATCH=taken["ETag"],
    )

    assert taken.status_code == 200, taken.content
    assert taken.json()["status"] == "in_review"
    assert taken.json()["assignee"]["id"] == str(agent.id)
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert (body["status"], body["decision_reason"]) == ("approved", "Dossier complet")
    assert body["decided_at"]
    assert ApplicationEntry.objects.get(pk=application.id).status == "approved"
    with schema_context("agence_a"):
        assert AuditEvent.objects.get(action="application.approved").changes["status"] == {
            "old": "in_review",
            "new": "approved",
        }


def test_staff_actions_without_if_match_are_428(in_state, staff, service_a):
    _, client = staff(Role.AGENT)
    application = in_state("submitted")

    response = client.post(f"{detail(application)}take/", format="json")

    assert_problem(response, 428, "precondition_required")
    with schema_context("agence_a"):
        assert Application.objects.get(pk=application.id).status == "submitted"


@pytest.mark.parametrize("if_match", ['"stale"', "*", 'W/"weak"'])
def test_a_stale_etag_is_412_and_nothing_changes(in_state, staff, service_a, if_match):
    agent, client = staff(Role.AGENT)
    application = in_state("in_review", agent=agent)

    response = client.post(
        f"{detail(application)}approve/", {}, format="json", HTTP_IF_MATCH=if_match
    )

    assert_problem(response, 412, "precondition_failed")
    with schema_context("agence_a"):
        assert Application.objects.get(pk=application.id).status == "in_review"
        assert not AuditEvent.objects.filter(action="application.approved").exists()


def test_an_etag_read_before_a_colleagues_change_is_412(in_state, staff, service_a):
    agent, client = staff(Role.AGENT)
    _, supervisor_client = staff(Role.SUPERVISOR)
    application = in_state("in_review", agent=agent)
    etag = client.get(detail(application))["ETag"]
    supervisor_client.post(
        f"{detail(application)}request-info/",
        {"message": "Acte manquant"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    response = client.post(f"{detail(application)}approve/", {}, format="json", HTTP_IF_MATCH=etag)

    assert_problem(response, 412, "precondition_failed")


def test_rejection_needs_a_reason(in_state, staff, service_a):
    agent, client = staff(Role.AGENT)
    application = in_state("in_review", agent=agent)
    etag = client.get(detail(application))["ETag"]

    missing = client.post(f"{detail(application)}reject/", {}, format="json", HTTP_IF_MATCH=etag)
    blank = client.post(
        f"{detail(application)}reject/", {"reason": "   "}, format="json", HTTP_IF_MATCH=etag
    )
    done = client.post(
        f"{detail(application)}reject/",
        {"reason": "Acte introuvable"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert "reason" in assert_problem(missing, 400, "validation_failed")["errors"]
    assert "reason" in assert_problem(blank, 400, "validation_failed")["errors"]
    assert done.status_code == 200
    assert done.json()["decision_reason"] == "Acte introuvable"


def test_request_info_needs_a_message(in_state, staff, service_a):
    agent, client = staff(Role.AGENT)
    application = in_state("in_review", agent=agent)
    etag = client.get(detail(application))["ETag"]

    response = client.post(
        f"{detail(application)}request-info/", {}, format="json", HTTP_IF_MATCH=etag
    )

    assert "message" in assert_problem(response, 400, "validation_failed")["errors"]


def test_an_agent_cannot_decide_on_a_colleagues_application(in_state, staff, service_a):
    _, client = staff(Role.AGENT)
    application = in_state("in_review")
    etag = client.get(detail(application))["ETag"]

    for action in ("approve", "request-info", "reject"):
        response = client.post(
            f"{detail(application)}{action}/",
            {"reason": "x"}
            if action == "reject"
            else ({"message": "x"} if action == "request-info" else {}),
            format="json",
            HTTP_IF_MATCH=etag,
        )
        assert_problem(response, 403, "not_assignee")


def test_take_of_an_application_held_by_someone_else_is_409(in_state, staff, service_a, agency_a):
    holder, holder_client = staff(Role.AGENT)
    _, client = staff(Role.AGENT)
    application = in_state("info_requested", agent=holder)
    # The citizen answers: back to submitted, still held by the same agent.
    advance("agence_a", application, "answer_info", application.citizen, "citizen")
    etag = client.get(detail(application))["ETag"]

    response = client.post(f"{detail(application)}take/", format="json", HTTP_IF_MATCH=etag)
    again = holder_client.post(f"{detail(application)}take/", format="json", HTTP_IF_MATCH=etag)

    assert_problem(response, 409, "already_assigned")
    assert again.status_code == 200


def test_supervisor_assigns_and_reassigns(in_state, staff, service_a, staff_of, agency_a, agency_b):
    _, client = staff(Role.SUPERVISOR)
    agent_1, _ = staff(Role.AGENT)
    agent_2, _ = staff(Role.AGENT)
    auditor, _ = staff(Role.AUDITOR)
    stranger = staff_of(agency_b, Role.AGENT)
    application = in_state("submitted")
    etag = client.get(detail(application))["ETag"]

    assigned = client.post(
        f"{detail(application)}assign/",
        {"assignee": str(agent_1.id)},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    etag = assigned["ETag"]
    to_auditor = client.post(
        f"{detail(application)}reassign/",
        {"assignee": str(auditor.id)},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    to_stranger = client.post(
        f"{detail(application)}reassign/",
        {"assignee": str(stranger.id)},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    to_same = client.post(
        f"{detail(application)}reassign/",
        {"assignee": str(agent_1.id)},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    reassigned = client.post(
        f"{detail(application)}reassign/",
        {"assignee": str(agent_2.id), "reason": "Congé"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert assigned.status_code == 200
    assert (assigned.json()["status"], assigned.json()["assignee"]["id"]) == (
        "in_review",
        str(agent_1.id),
    )
    for refused in (to_auditor, to_stranger, to_same):
        assert "assignee" in assert_problem(refused, 400, "assignee_invalid")["errors"]
    assert reassigned.status_code == 200
    body = reassigned.json()
    assert (body["status"], body["assignee"]["id"]) == ("in_review", str(agent_2.id))
    assert body["history"][-1]["reason"] == "Congé"
    assert body["history"][-1]["reason_is_public"] is False


def test_agents_cannot_assign_others(in_state, staff, service_a):
    _, client = staff(Role.AGENT)
    colleague, _ = staff(Role.AGENT)
    application = in_state("submitted")
    etag = client.get(detail(application))["ETag"]

    response = client.post(
        f"{detail(application)}assign/",
        {"assignee": str(colleague.id)},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert_problem(response, 403, "transition_forbidden")


def test_notes_are_staff_only_and_audited_without_their_text(
    in_state, staff, service_a, citizen, tokens, api
):
    agent, client = staff(Role.AGENT)
    _, auditor_client = staff(Role.AUDITOR)
    application = in_state("submitted")

    created = client.post(
        f"{detail(application)}notes/", {"body": "Appeler la mairie"}, format="json"
    )
    by_auditor = auditor_client.post(f"{detail(application)}notes/", {"body": "x"}, format="json")
    blank = client.post(f"{detail(application)}notes/", {"body": "  "}, format="json")
    seen_by_citizen = api(HOST_A, tokens(citizen).access).get(
        f"/api/v1/applications/{application.id}/"
    )

    assert created.status_code == 201, created.content
    assert created.json()["author"]["id"] == str(agent.id)
    assert_problem(by_auditor, 403, "transition_forbidden")
    assert_problem(blank, 400, "validation_failed")
    assert "Appeler" not in seen_by_citizen.content.decode()
    with schema_context("agence_a"):
        assert InternalNote.objects.count() == 1
        event = AuditEvent.objects.get(action="application.note_added")
        assert "Appeler" not in str(event.changes)
        # A note does not change the version: no one's If-Match is invalidated by it.
        assert Application.objects.get(pk=application.id).version == application.version


def test_supervisor_closes_a_decided_application(in_state, staff, service_a):
    _, client = staff(Role.SUPERVISOR)
    application = in_state("approved")
    etag = client.get(detail(application))["ETag"]

    response = client.post(f"{detail(application)}close/", {}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    with schema_context("agence_a"):
        assert HistoryEntry.objects.filter(application_id=application.id, action="close").exists()
