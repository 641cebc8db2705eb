"""The agency console: work queue, application page, actions through the same services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications.models import Application, Attachment, InternalNote, ReferenceSequence
from apps.audit.models import AuditEvent
from apps.directory.models import ApplicationEntry
from tests.applications.conftest import PDF
from tests.conftest import HOST_A, HOST_B
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

QUEUE = "/admin/applications/application/"


def page(application) -> str:
    return f"{QUEUE}{application.id}/change/"


def act(application, action: str) -> str:
    return f"{QUEUE}{application.id}/act/{action}/"


@pytest.fixture
def console(client, agency_a, staff_of):
    """``console(role)`` -> (user, client signed in to agency A's console)."""

    def make(role: str = Role.AGENT, host: str = HOST_A):
        user = staff_of(agency_a, role)
        client.defaults["HTTP_HOST"] = host
        otp_login(client, user)
        return user, client

    return make


def current(application) -> Application:
    with schema_context("agence_a"):
        return Application.objects.get(pk=application.pk)


def test_the_queue_is_french_filtered_and_highlights_overdue(console, in_state, service_a):
    _, client = console(Role.AGENT)
    on_time = in_state("submitted")
    late = in_state("in_review")
    in_state("draft")
    with schema_context("agence_a"):
        Application.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(days=2))

    response = client.get(QUEUE, {"assigned": "all"})
    overdue_only = client.get(QUEUE, {"overdue": "yes", "assigned": "all"})
    submitted_only = client.get(QUEUE, {"status": "submitted", "assigned": "all"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="fr"' in html
    assert current(on_time).reference in html
    assert current(late).reference in html
    assert "⚠" in html
    assert "en retard" in html
    assert "Déposée" in html
    assert response.context["cl"].result_count == 2  # drafts are not in the queue
    assert [a.pk for a in overdue_only.context["cl"].result_list] == [late.pk]
    assert [a.pk for a in submitted_only.context["cl"].result_list] == [on_time.pk]


def test_the_queue_runs_a_bounded_number_of_queries(
    console, in_state, service_a, django_assert_max_num_queries
):
    _, client = console(Role.SUPERVISOR)
    for _ in range(12):
        in_state("submitted")

    with django_assert_max_num_queries(20):
        assert client.get(QUEUE).status_code == 200


def test_the_application_page_shows_labelled_answers_documents_history(
    console, in_state, service_a
):
    agent, client = console(Role.AGENT)
    application = in_state("in_review", agent=agent)

    response = client.get(page(application))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Réponses" in html  # French by default
    assert "Historique" in html
    assert "Naissance › Date de naissance" in html
    assert "2001-04-12" in html
    assert '{"nom"' not in html  # not raw JSON
    assert "piece.pdf" in html
    assert f"{QUEUE}{application.id}/act/approve/" in html
    assert f"{QUEUE}{application.id}/act/reject/" in html
    with schema_context("agence_a"):
        viewed = AuditEvent.objects.get(action="application.viewed")
        assert (viewed.actor_id, viewed.actor_role) == (str(agent.id), Role.AGENT)


def test_assign_to_me_from_the_list(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    first, second = in_state("submitted"), in_state("submitted")

    response = client.post(
        f"{QUEUE}?assigned=none",
        {"action": "take_selected", "_selected_action": [str(first.pk), str(second.pk)]},
    )

    assert response.status_code == 302
    for application in (first, second):
        stored = current(application)
        assert (stored.status, stored.assignee_id) == ("in_review", agent.id)
    with schema_context("agence_a"):
        events = AuditEvent.objects.filter(action="application.taken")
        assert {e.actor_id for e in events} == {str(agent.id)}
        assert {e.actor_role for e in events} == {Role.AGENT}
    assert ApplicationEntry.objects.get(pk=first.pk).status == "in_review"


def test_decision_actions_from_the_list_open_the_intermediate_page(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    application = in_state("in_review", agent=agent)
    other = in_state("in_review", agent=agent)

    one = client.post(
        QUEUE, {"action": "reject_selected", "_selected_action": [str(application.pk)]}
    )
    two = client.post(
        QUEUE,
        {"action": "approve_selected", "_selected_action": [str(application.pk), str(other.pk)]},
    )

    assert one.status_code == 302
    assert one["Location"] == act(application, "reject")
    assert two.status_code == 302
    assert two["Location"].startswith(QUEUE)
    assert current(application).status == "in_review"


def test_reject_through_the_console_needs_a_reason_and_uses_the_service(
    console, in_state, service_a
):
    agent, client = console(Role.AGENT)
    application = in_state("in_review", agent=agent)
    form = client.get(act(application, "reject"))
    etag = form.context["form"].initial["etag"]

    missing = client.post(act(application, "reject"), {"etag": etag, "reason": ""})
    done = client.post(act(application, "reject"), {"etag": etag, "reason": "Acte introuvable"})

    assert form.status_code == 200
    assert missing.status_code == 200
    assert missing.context["form"].errors["reason"]
    assert done.status_code == 302
    stored = current(application)
    assert (stored.status, stored.decision_reason) == ("rejected", "Acte introuvable")
    with schema_context("agence_a"):
        assert AuditEvent.objects.filter(action="application.rejected").count() == 1


def test_a_page_read_before_a_colleagues_decision_cannot_decide(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    application = in_state("in_review", agent=agent)
    stale = client.get(act(application, "approve")).context["form"].initial["etag"]
    with schema_context("agence_a"):
        from apps.applications.services import application_transition

        application_transition(
            application_id=application.pk,
            action="request_info",
            actor=agent,
            role=Role.AGENT,
            reason="Pièce manquante",
            if_match=current(application).etag,
        )

    response = client.post(act(application, "approve"), {"etag": stale}, follow=True)

    assert current(application).status == "info_requested"
    assert any(
        "changed by someone else" in str(m) or "modifié" in str(m)
        for m in response.context["messages"]
    )


def test_request_information_and_assignment_by_a_supervisor(
    console, in_state, service_a, staff_of, agency_a
):
    _, client = console(Role.SUPERVISOR)
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("submitted")
    etag = current(application).etag

    assigned = client.post(act(application, "assign"), {"etag": etag, "assignee": str(agent.pk)})
    asked = client.post(
        act(application, "request_info"),
        {"etag": current(application).etag, "reason": "Merci de joindre l'acte"},
    )

    assert assigned.status_code == 302
    assert asked.status_code == 302
    stored = current(application)
    assert (stored.status, stored.assignee_id, stored.info_request) == (
        "info_requested",
        agent.id,
        "Merci de joindre l'acte",
    )


def test_an_agent_cannot_assign_others_from_the_console(
    console, in_state, service_a, staff_of, agency_a
):
    _, client = console(Role.AGENT)
    colleague = staff_of(agency_a, Role.AGENT)
    application = in_state("submitted")

    response = client.post(
        act(application, "assign"),
        {"etag": current(application).etag, "assignee": str(colleague.pk)},
        follow=True,
    )

    assert current(application).status == "submitted"
    assert response.context["messages"]


def test_unknown_actions_and_auditors_are_refused(console, in_state, service_a):
    _, client = console(Role.AUDITOR)
    application = in_state("submitted")

    assert client.get(act(application, "take")).status_code == 403
    assert client.get(act(application, "teleport")).status_code == 403
    assert client.get(page(application)).status_code == 200  # auditors read
    assert (
        client.post(
            QUEUE, {"action": "take_selected", "_selected_action": [str(application.pk)]}
        ).status_code
        == 200
    )  # no actions for auditors: the list is shown again, nothing done
    assert current(application).status == "submitted"


def test_internal_notes_are_added_inline_through_the_service(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    application = in_state("submitted")
    response = client.get(page(application))
    prefix = response.context["inline_admin_formsets"][0].formset.prefix

    saved = client.post(
        page(application),
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-body": "Rappeler le citoyen",
            f"{prefix}-0-application": str(application.pk),
            "_continue": "1",
        },
    )

    assert saved.status_code == 302, saved.content.decode()[:2000]
    with schema_context("agence_a"):
        note = InternalNote.objects.get(application=application)
        assert (note.author_id, note.body) == (agent.id, "Rappeler le citoyen")
        assert AuditEvent.objects.filter(action="application.note_added").count() == 1
        # The page edits nothing else.
        assert Application.objects.get(pk=application.pk).version == application.version
    assert "Rappeler le citoyen" in client.get(page(application)).content.decode()


def test_documents_download_from_the_console_and_are_audited(console, in_state, service_a):
    _, client = console(Role.AUDITOR)
    application = in_state("submitted")
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)

    response = client.get(f"{QUEUE}{application.id}/attachments/{attachment.id}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    with schema_context("agence_a"):
        assert AuditEvent.objects.filter(action="application.attachment_downloaded").exists()


def test_drafts_and_other_agencies_are_invisible_in_the_console(
    client, console, in_state, service_a, staff_of, agency_b
):
    _, own = console(Role.SUPERVISOR)
    draft = in_state("draft")
    submitted = in_state("submitted")
    draft_page = own.get(page(draft))

    other = staff_of(agency_b, Role.SUPERVISOR)
    client.defaults["HTTP_HOST"] = HOST_B
    otp_login(client, other)
    cross = client.get(page(submitted))

    assert draft_page.status_code == 302  # "does not exist" redirect to the index
    assert cross.status_code == 302
    assert client.get(QUEUE).context["cl"].result_count == 0


def test_no_adding_or_deleting_applications_in_the_console(console, in_state, service_a):
    _, client = console(Role.AGENCY_ADMIN)
    application = in_state("submitted")

    assert client.get(f"{QUEUE}add/").status_code == 403
    assert client.get(f"{QUEUE}{application.id}/delete/").status_code == 403


def test_agency_admin_overrides_the_reference_prefix(console, in_state, service_a):
    _, client = console(Role.AGENCY_ADMIN)
    year = timezone.localdate().year

    bad = client.post("/admin/applications/referencesequence/add/", {"year": year, "prefix": "e-c"})
    added = client.post(
        "/admin/applications/referencesequence/add/", {"year": year, "prefix": "ec"}
    )
    application = in_state("submitted")

    assert bad.status_code == 200
    assert added.status_code == 302
    assert current(application).reference.startswith(f"EC-{year}-")
    with schema_context("agence_a"):
        assert ReferenceSequence.objects.get(year=year).prefix == "EC"
        assert AuditEvent.objects.filter(action="applications.reference_prefix_set").count() == 1


def test_agents_cannot_change_the_reference_prefix(console):
    _, client = console(Role.AGENT)

    assert client.get("/admin/applications/referencesequence/add/").status_code == 403


def test_more_queue_filters(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    mine = in_state("in_review", agent=agent)
    unassigned = in_state("submitted")

    def listed(**params):
        return {a.pk for a in client.get(QUEUE, params).context["cl"].result_list}

    assert listed(assigned="me") == {mine.pk}
    assert listed(assigned="none") == {unassigned.pk}
    assert listed(overdue="no", assigned="all") == {mine.pk, unassigned.pk}
    assert listed() == {mine.pk}  # an agent's default: their own open files
    assert "—" in client.get(QUEUE, {"assigned": "all"}).content.decode()  # nobody holds it


def test_action_pages_show_only_the_fields_they_need(
    console, in_state, service_a, staff_of, agency_a
):
    _, client = console(Role.SUPERVISOR)
    colleague = staff_of(agency_a, Role.AGENT)
    colleague.first_name, colleague.last_name = "Kossi", "Agbeko"
    colleague.save()
    application = in_state("submitted")

    take = client.get(act(application, "take"))
    assign = client.get(act(application, "assign"))

    assert set(take.context["form"].fields) == {"etag"}
    assert set(assign.context["form"].fields) == {"etag", "assignee", "reason"}
    assert "Kossi Agbeko" in assign.content.decode()


def test_assign_to_me_reports_applications_someone_else_holds(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    held = in_state("in_review")
    free = in_state("submitted")

    response = client.post(
        f"{QUEUE}?assigned=all",
        {"action": "take_selected", "_selected_action": [str(held.pk), str(free.pk)]},
        follow=True,
    )

    assert current(free).assignee_id == agent.id
    assert current(held).assignee_id != agent.id
    assert len(list(response.context["messages"])) == 2  # one warning, one success


def test_request_information_from_the_list_opens_its_page(console, in_state, service_a):
    agent, client = console(Role.AGENT)
    application = in_state("in_review", agent=agent)

    response = client.post(
        QUEUE, {"action": "request_info_selected", "_selected_action": [str(application.pk)]}
    )

    assert response["Location"] == act(application, "request_info")


def test_unknown_or_invisible_objects_in_the_console(console, in_state, service_a):
    _, client = console(Role.SUPERVISOR)
    application = in_state("draft")

    action_page = client.get(act(application, "take"))
    document = client.get(f"{QUEUE}{application.id}/attachments/{application.id}/")
    bad_id = client.get(f"{QUEUE}not-a-uuid/change/")

    assert action_page.status_code == 302
    assert document.status_code == 404
    assert bad_id.status_code == 302


def test_a_member_whose_role_was_revoked_cannot_download(
    client, in_state, service_a, citizen, agency_a
):
    from apps.accounts.services import membership_grant
    from tests.factories import UserFactory

    application = in_state("submitted")
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    member = UserFactory()
    membership = membership_grant(user=member, agency=agency_a, role=Role.AGENT)
    client.defaults["HTTP_HOST"] = HOST_A
    otp_login(client, member)
    membership.is_active = False
    membership.save()

    response = client.get(f"{QUEUE}{application.id}/attachments/{attachment.id}/")

    assert response.status_code == 302  # no longer a member: back to the login page
