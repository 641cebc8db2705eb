"""The console for civil servants' day: queues, search, timeline, bulk assignment, home page,
statistics. Real PostgreSQL (``unaccent``), real services, two agencies."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications.models import Application, InternalNote
from apps.audit.selectors import audit_event_list
from tests.applications.conftest import advance, draft
from tests.conftest import HOST_A, HOST_B
from tests.factories import UserFactory
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

QUEUE = "/admin/applications/application/"


@pytest.fixture
def console(client, agency_a, staff_of):
    """``console(role, host=HOST_A, agency=agency_a)`` -> (user, signed-in client)."""

    def make(role: str = Role.AGENT, host: str = HOST_A, agency=None):
        user = staff_of(agency or agency_a, role)
        client.defaults["HTTP_HOST"] = host
        otp_login(client, user)
        return user, client

    return make


def listed(client, **params) -> set:
    return {a.pk for a in client.get(QUEUE, params).context["cl"].result_list}


def stored(application) -> Application:
    with schema_context("agence_a"):
        return Application.objects.get(pk=application.pk)


# --- Queues ------------------------------------------------------------------------------------


def test_an_agent_starts_on_their_open_files_and_closed_ones_only_when_asked(
    console, in_state, service_a
):
    agent, client = console(Role.AGENT)
    mine = in_state("in_review", agent=agent)
    mine_waiting = in_state("info_requested", agent=agent)
    mine_closed = in_state("closed", agent=agent)
    someone_elses = in_state("in_review")

    assert listed(client) == {mine.pk, mine_waiting.pk}
    assert listed(client, state="all") == {mine.pk, mine_waiting.pk, mine_closed.pk}
    assert listed(client, state="done") == {mine_closed.pk}
    assert someone_elses.pk in listed(client, assigned="all")


def test_supervisors_start_on_every_open_file_soonest_deadline_first(console, in_state, service_a):
    _, client = console(Role.SUPERVISOR)
    later = in_state("submitted")
    sooner = in_state("in_review")
    in_state("rejected")
    with schema_context("agence_a"):
        Application.objects.filter(pk=sooner.pk).update(due_at=timezone.now())

    response = client.get(QUEUE)

    assert [a.pk for a in response.context["cl"].result_list] == [sooner.pk, later.pk]


def test_the_queue_has_a_human_title(console, service_a):
    _, client = console(Role.AGENT)

    html = client.get(QUEUE).content.decode()

    assert "<h1>Demandes</h1>" in html
    assert "<title>Demandes | Guichet</title>" in html
    assert "Sélectionnez" not in html
    assert "console/console.css" in html


@pytest.mark.parametrize(
    "term",
    ["elodie", "ÉLODIE AGBÉKO", "agbeko elodie", "90 11 22 33", "+22890112233", "elodie@exemple"],
)
def test_search_finds_the_citizen_by_name_without_accents_phone_or_email(
    console, in_state, service_a, term
):
    _, client = console(Role.SUPERVISOR)
    elodie = UserFactory(
        first_name="Élodie", last_name="Agbéko", phone="+22890112233", email="elodie@exemple.tg"
    )
    found = in_state("submitted", owner=elodie)
    in_state("submitted")  # the default citizen

    assert listed(client, q=term) == {found.pk}


def test_search_by_reference(console, in_state, service_a):
    _, client = console(Role.SUPERVISOR)
    application = in_state("submitted")
    in_state("submitted")

    assert listed(client, q=stored(application).reference.lower()) == {application.pk}


def test_search_never_reaches_another_agency(console, in_state, service_a, service_b, citizen):
    elodie = UserFactory(first_name="Élodie", last_name="Agbéko")
    in_state("submitted", owner=elodie)  # in agency A
    in_b = draft("agence_b", elodie)
    advance("agence_b", in_b, "submit", elodie, "citizen")
    _, client = console(Role.SUPERVISOR, host=HOST_B, agency=None)
    # The supervisor of A on B's host is refused; B's own supervisor sees only B's file.
    assert client.get(QUEUE, {"q": "elodie"}).status_code == 302


def test_search_in_agency_b_lists_only_its_own_files(
    client, agency_b, staff_of, in_state, service_a, service_b
):
    elodie = UserFactory(first_name="Élodie", last_name="Agbéko")
    in_state("submitted", owner=elodie)
    in_b = advance("agence_b", draft("agence_b", elodie), "submit", elodie, "citizen")
    client.defaults["HTTP_HOST"] = HOST_B
    otp_login(client, staff_of(agency_b, Role.SUPERVISOR))

    assert listed(client, q="elodie") == {in_b.pk}


def test_the_application_page_shows_one_french_timeline(console, in_state, service_a, citizen):
    agent, client = console(Role.AGENT)
    application = in_state("in_review", agent=agent)
    advance("agence_a", application, "request_info", agent, Role.AGENT, reason="Photo floue")
    with schema_context("agence_a"):
        InternalNote.objects.create(application_id=application.pk, author=agent, body="Vu ce matin")

    response = client.get(f"{QUEUE}{application.pk}/change/")
    history = client.get(f"{QUEUE}{application.pk}/history/")

    html = response.content.decode()
    assert response.context["title"].startswith(stored(application).reference)
    timeline = response.context["timeline"]
    kinds = [item.kind for item in timeline]
    assert {"history", "note", "document", "notification"} <= set(kinds)
    assert [item.at for item in timeline] == sorted(item.at for item in timeline)
    assert "Demande déposée" in html
    assert "Informations demandées — délai suspendu" in html
    assert "Photo floue" in html
    assert "Vu ce matin" in html
    assert "Notification : Accusé de réception" in html
    assert "(agent)" in html
    assert "Le délai de traitement est suspendu" in html
    assert "request_info" not in html.split('id="timeline"')[1]
    assert history.status_code == 302
    assert history["Location"].endswith(f"{application.pk}/change/#timeline")


def test_supervisors_assign_many_files_at_once(console, in_state, service_a, staff_of, agency_a):
    _, client = console(Role.SUPERVISOR)
    colleague = staff_of(agency_a, Role.AGENT)
    new = in_state("submitted")
    held = in_state("in_review")
    selected = [str(new.pk), str(held.pk)]

    page = client.post(QUEUE, {"action": "assign_selected", "_selected_action": selected})
    done = client.post(
        QUEUE,
        {
            "action": "assign_selected",
            "_selected_action": selected,
            "apply": "1",
            "assignee": str(colleague.pk),
            "reason": "Renfort",
        },
    )

    assert page.status_code == 200
    assert "Attribuer les demandes sélectionnées" in page.content.decode()
    assert done.status_code == 302
    assert stored(new).assignee_id == colleague.pk
    assert stored(held).assignee_id == colleague.pk
    with schema_context("agence_a"):
        actions = set(audit_event_list().values_list("action", flat=True)[:5])
    assert {"application.assigned", "application.reassigned"} <= actions


def test_agents_cannot_assign_in_bulk(console, in_state, service_a, staff_of, agency_a):
    _, client = console(Role.AGENT)
    application = in_state("submitted")

    actions = client.get(QUEUE).context["action_form"].fields["action"].choices
    forced = client.post(
        f"{QUEUE}?assigned=all",
        {"action": "assign_selected", "_selected_action": [str(application.pk)], "apply": "1"},
    )

    assert "assign_selected" not in {name for name, _ in actions}
    assert forced.status_code in (200, 302)  # "no action selected": Django's own answer
    assert stored(application).assignee_id is None


# --- Home page ---------------------------------------------------------------------------------


def test_the_agent_home_page_counts_their_files(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    late = in_state("in_review", agent=agent)
    in_state("info_requested", agent=agent)
    in_state("in_review", agent=agent)
    in_state("submitted")  # nobody's
    with schema_context("agence_a"):
        Application.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(1))

    response = client.get("/admin/")

    html = response.content.decode()
    counts = response.context.get("counts")
    assert "mes dossiers ouverts" in html
    assert "Mes prochains dossiers" in html
    assert counts is not None
    assert (counts.open, counts.overdue, counts.waiting) == (3, 1, 1)


def test_the_supervisor_home_page_has_backlog_processing_time_and_trend(
    console, in_state, service_a, staff_of, agency_a
):
    _, client = console(Role.SUPERVISOR)
    in_state("submitted")
    in_state("info_requested")
    decided = in_state("approved")
    with schema_context("agence_a"):
        submitted_at = stored(decided).submitted_at
        Application.objects.filter(pk=decided.pk).update(
            decided_at=submitted_at + dt.timedelta(days=3)
        )

    response = client.get("/admin/")

    html = response.content.decode()
    assert "Dossiers ouverts par service et statut" in html
    assert "Copie d&#x27;acte de naissance" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert 'role="img"' in html
    processing = response.context["processing"]
    assert processing.decided == 1
    assert processing.median_days == 3.0
    weeks = response.context["weeks"]
    assert len(weeks) == 12
    assert sum(week.submitted for week in weeks) == 3
    assert "https://" not in html.split('id="dashboard"')[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_the_home_page_runs_a_fixed_number_of_queries(console, in_state, service_a, role):
    user, client = console(role)
    client.get("/admin/")  # warm the caches that are per process (hosts, content types)
    for _ in range(3):
        in_state("in_review", agent=user if role == Role.AGENT else None)

    with CaptureQueriesContext(connection) as few:
        client.get("/admin/")
    for _ in range(5):
        in_state("in_review", agent=user if role == Role.AGENT else None)
    with CaptureQueriesContext(connection) as many:
        client.get("/admin/")

    assert len(many) == len(few)
    assert len(many) <= 16


def test_the_home_page_of_agency_b_counts_only_its_own_files(
    client, agency_b, staff_of, in_state, service_a, service_b
):
    in_state("submitted")
    in_state("submitted")
    client.defaults["HTTP_HOST"] = HOST_B
    otp_login(client, staff_of(agency_b, Role.SUPERVISOR))

    response = client.get("/admin/")

    assert response.context["counts"].open == 0


# --- Statistics --------------------------------------------------------------------------------


def test_statistics_export_counts_by_period_service_and_status(console, in_state, service_a):
    _, client = console(Role.SUPERVISOR)
    in_state("submitted")
    in_state("submitted")
    in_state("rejected")
    today = timezone.localdate().isoformat()

    response = client.get(f"{QUEUE}statistics.csv", {"from": today, "to": today, "period": "day"})

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert response["Content-Type"].startswith("text/csv")
    header = ["période", "code du service", "service", "code de statut", "statut", "nombre"]
    assert rows[0] == header
    counted = {(row[3], int(row[5])) for row in rows[1:]}
    assert counted == {("submitted", 2), ("rejected", 1)}
    with schema_context("agence_a"):
        assert audit_event_list().filter(action="applications.statistics_exported").exists()


def test_statistics_are_not_for_agents_nor_for_another_agency(
    console, client, in_state, service_a, service_b, agency_b, staff_of
):
    in_state("submitted")
    _, agent_client = console(Role.AGENT)
    refused = agent_client.get(f"{QUEUE}statistics.csv")
    agent_client.logout()
    agent_client.defaults["HTTP_HOST"] = HOST_B
    otp_login(agent_client, staff_of(agency_b, Role.SUPERVISOR))
    other = agent_client.get(f"{QUEUE}statistics.csv")

    body = b"".join(other.streaming_content).decode("utf-8-sig")
    assert refused.status_code == 403
    assert len(body.strip().splitlines()) == 1  # the header only: agency A's files stay in A


def test_bad_statistics_parameters_change_nothing(console, service_a):
    _, client = console(Role.SUPERVISOR)

    response = client.get(f"{QUEUE}statistics.csv", {"from": "hier"})

    assert response.status_code == 302
    with schema_context("agence_a"):
        assert not audit_event_list().filter(action="applications.statistics_exported").exists()


def test_bulk_assignment_leaves_decided_files_alone(console, in_state, service_a):
    _, client = console(Role.SUPERVISOR)
    decided = in_state("rejected")
    before = stored(decided).assignee_id

    response = client.post(
        f"{QUEUE}?state=all",
        {"action": "assign_selected", "_selected_action": [str(decided.pk)]},
        follow=True,
    )

    assert "Sélectionnez des demandes ouvertes" in response.content.decode()
    assert stored(decided).assignee_id == before


def test_hostile_search_and_filters_answer_normally(console, in_state, service_a):
    _, client = console(Role.AUDITOR)
    in_state("submitted")

    queue = client.get(QUEUE, {"q": "a\x00b"})
    trail = client.get("/admin/audit/auditevent/", {"reference": "\x00", "person": "x\x00"})

    assert queue.status_code == 200
    assert trail.status_code == 200
