"""The transition service: every action from every state, history + audit + index together."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications import services
from apps.applications.errors import (
    ApplicationNotFound,
    PreconditionRequired,
    TransitionForbidden,
    TransitionNotAllowed,
)
from apps.applications.models import Application, HistoryEntry
from apps.applications.workflow import (
    CITIZEN_ACTIONS,
    STAFF_ACTIONS,
    TRANSITIONS,
    Actor,
    Status,
    actions_available,
)
from apps.audit.models import AuditEvent
from apps.directory.models import ApplicationEntry

pytestmark = pytest.mark.django_db

ALL_STATES = [s.value for s in Status]

# What each action does, from which states: written out, not read from the table.
EXPECTED = {
    "submit": ({"draft"}, "submitted"),
    "confirm_payment": ({"awaiting_payment"}, "submitted"),
    "exempt_fee": ({"awaiting_payment"}, "submitted"),
    "withdraw": (
        {"draft", "awaiting_payment", "submitted", "in_review", "info_requested"},
        "withdrawn",
    ),
    "take": ({"submitted"}, "in_review"),
    "assign": ({"submitted"}, "in_review"),
    "reassign": ({"submitted", "in_review", "info_requested"}, None),
    "request_info": ({"in_review"}, "info_requested"),
    "answer_info": ({"info_requested"}, "submitted"),
    "approve": ({"in_review"}, "approved"),
    "reject": ({"in_review"}, "rejected"),
    "close": ({"approved", "rejected", "withdrawn"}, "closed"),
}


def test_the_table_is_the_expected_workflow():
    assert set(TRANSITIONS) == set(EXPECTED)
    for action, (sources, target) in EXPECTED.items():
        assert set(TRANSITIONS[action].sources) == sources, action
        assert TRANSITIONS[action].target == target, action
    assert set(CITIZEN_ACTIONS) == {"submit", "withdraw", "answer_info"}
    # The platform confirms payments (role "system"): neither a citizen's nor a staff action.
    assert set(STAFF_ACTIONS) == set(EXPECTED) - set(CITIZEN_ACTIONS) - {"confirm_payment"}
    assert TRANSITIONS["submit"].target_when_fee_due == "awaiting_payment"


def _snapshot(application_id):
    with schema_context("agence_a"):
        return (
            Application.objects.get(pk=application_id).version,
            HistoryEntry.objects.filter(application_id=application_id).count(),
            AuditEvent.objects.filter(target_id=str(application_id)).count(),
            ApplicationEntry.objects.get(pk=application_id).updated_at,
        )


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", list(EXPECTED))
def test_every_action_from_every_state(
    in_state, staff_of, agency_a, citizen, service_a, action, state
):
    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    application = in_state(state, agent=supervisor)
    sources, target = EXPECTED[action]
    citizen_action = action in CITIZEN_ACTIONS
    actor, role = (citizen, "citizen") if citizen_action else (supervisor, Role.SUPERVISOR)
    if action == "confirm_payment":  # made by the payments app for the paying citizen
        actor, role = citizen, Actor.SYSTEM
    extra = {}
    if action in ("request_info", "reject", "exempt_fee"):
        extra["reason"] = "Motif"
    if action in ("assign", "reassign"):
        extra["assignee_id"] = staff_of(agency_a, Role.AGENT).id
    before = _snapshot(application.id)

    def run():
        with schema_context("agence_a"):
            current = Application.objects.get(pk=application.id)
            return services.application_transition(
                application_id=application.id,
                action=action,
                actor=actor,
                role=role,
                if_match=current.etag,
                **extra,
            )

    if state == "draft" and not citizen_action:
        with pytest.raises(ApplicationNotFound):  # staff never see drafts
            run()
        assert _snapshot(application.id) == before
        return
    # Reassignment also needs someone holding the application: "submitted" here is unassigned.
    if state not in sources or (action == "reassign" and state == "submitted"):
        with pytest.raises(TransitionNotAllowed):
            run()
        assert _snapshot(application.id) == before
        return

    result = run()

    assert result.status == (target or state)
    version, history, audits, _indexed = _snapshot(application.id)
    assert (version, history, audits) == (before[0] + 1, before[1] + 1, before[2] + 1)
    with schema_context("agence_a"):
        entry = HistoryEntry.objects.filter(application_id=application.id).latest("occurred_at")
        event = AuditEvent.objects.filter(target_id=str(application.id)).latest("occurred_at")
    assert (entry.action, entry.from_status, entry.to_status) == (action, state, result.status)
    assert (entry.actor_id, entry.actor_role) == (actor.id, role)
    assert event.action == TRANSITIONS[action].event
    assert ApplicationEntry.objects.get(pk=application.id).status == result.status


@pytest.mark.parametrize("action", list(EXPECTED))
def test_roles_outside_the_table_are_refused_and_nothing_is_written(
    in_state, staff_of, agency_a, service_a, citizen, action
):
    sources, _ = EXPECTED[action]
    state = sorted(sources - {"draft"})[0] if action not in ("submit",) else "draft"
    application = in_state(state)
    auditor = staff_of(agency_a, Role.AUDITOR)
    before = _snapshot(application.id)

    with schema_context("agence_a"):
        current = Application.objects.get(pk=application.id)
        if action in CITIZEN_ACTIONS and state != "draft":
            with pytest.raises(TransitionForbidden):
                services.application_transition(
                    application_id=application.id,
                    action=action,
                    actor=auditor,
                    role=Role.AUDITOR,
                    if_match=current.etag,
                )
        if action in STAFF_ACTIONS:
            with pytest.raises(TransitionForbidden):
                services.application_transition(
                    application_id=application.id,
                    action=action,
                    actor=citizen,
                    role="citizen",
                    if_match=current.etag,
                )

    assert _snapshot(application.id) == before


def test_staff_transitions_need_if_match_even_from_python(in_state, staff_of, agency_a, service_a):
    application = in_state("submitted")
    agent = staff_of(agency_a, Role.AGENT)

    with schema_context("agence_a"), pytest.raises(PreconditionRequired):
        services.application_transition(
            application_id=application.id, action="take", actor=agent, role=Role.AGENT
        )


def test_unknown_actions_are_a_programming_error(in_state, citizen, service_a):
    application = in_state("draft")

    with schema_context("agence_a"), pytest.raises(ValueError, match="unknown transition"):
        services.application_transition(
            application_id=application.id, action="teleport", actor=citizen, role="citizen"
        )


def test_follow_up_work_is_written_to_the_outbox_in_the_same_transaction(
    in_state, citizen, service_a
):
    from apps.outbox.models import OutboxMessage

    application = in_state("draft")
    with schema_context("agence_a"):
        before = OutboxMessage.objects.count()
        services.application_submit(application_id=application.id, citizen=citizen)
        after_submit = OutboxMessage.objects.count()
        with pytest.raises(TransitionNotAllowed):
            services.application_submit(application_id=application.id, citizen=citizen)
        after_refusal = OutboxMessage.objects.count()

    assert after_submit > before  # the citizen's notification (at least)
    assert after_refusal == after_submit  # a refused transition queues nothing


def test_actions_available_follow_the_rules():
    assert (
        actions_available(status="in_review", role=Role.AGENT, is_assignee=False, has_assignee=True)
        == []
    )
    assert actions_available(
        status="in_review", role=Role.AGENT, is_assignee=True, has_assignee=True
    ) == ["request_info", "approve", "reject"]
    assert actions_available(
        status="submitted", role=Role.SUPERVISOR, is_assignee=False, has_assignee=False
    ) == ["take", "assign"]
    assert actions_available(
        status="submitted", role=Role.SUPERVISOR, is_assignee=False, has_assignee=True
    ) == ["assign", "reassign"]
    assert (
        actions_available(
            status="approved", role=Role.AUDITOR, is_assignee=False, has_assignee=True
        )
        == []
    )


def test_submission_sets_the_deadline_from_working_days(in_state, citizen, service_a):
    from apps.catalogue.calendar import working_days_between

    application = in_state("submitted")

    with schema_context("agence_a"):
        stored = Application.objects.get(pk=application.id)
        assert working_days_between(stored.submitted_at, stored.due_at) == 5
