"""The workflow of an application: its states, the allowed transitions and who may make each.

This module is the one table of the workflow. ``apps.applications.services.transitions``
enforces it (state, role, reason, assignee rules) for every caller: citizen API, staff API,
admin console. Nothing else changes an application's status.

    draft ──submit──▶ submitted ──take/assign──▶ in_review ──approve──▶ approved ──close──▶ closed
                         ▲                          │  └────reject───▶ rejected ──close──▶ closed
                         └──answer_info── info_requested ◀──request_info
    draft / submitted / in_review / info_requested ──withdraw──▶ withdrawn ──close──▶ closed

Payment gate (``apps.payments``): when the agency collects fees online and the service has a
fee, ``submit`` leads to ``awaiting_payment`` instead; the confirmed payment
(``confirm_payment``, made by the platform) or a fee exemption granted by a supervisor
(``exempt_fee``) hands the application to the agency (``submitted``). The citizen may withdraw
while it waits.

    draft ──submit──▶ awaiting_payment ──confirm_payment / exempt_fee──▶ submitted
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role


class Status(models.TextChoices):
    """Where an application stands."""

    DRAFT = "draft", _("Draft")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    INFO_REQUESTED = "info_requested", _("Information requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CLOSED = "closed", _("Closed")


class Actor(StrEnum):
    """Who acts on an application: the citizen who owns it, or a member of the agency."""

    CITIZEN = "citizen"
    AGENT = Role.AGENT.value
    SUPERVISOR = Role.SUPERVISOR.value
    AGENCY_ADMIN = Role.AGENCY_ADMIN.value
    AUDITOR = Role.AUDITOR.value
    # The platform itself: a payment confirmed with the provider (never a person's button).
    SYSTEM = "system"


class Reason(StrEnum):
    """Whether a transition takes a reason (or a message to the citizen)."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class Assignment(StrEnum):
    """What a transition does to the assignee."""

    KEEP = "keep"
    SELF = "self"  # the actor becomes the assignee
    GIVEN = "given"  # the actor names the new assignee


# Decided or finished: no more work, never overdue.
DECIDED = frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN, Status.CLOSED})
# Being worked on by the agency: the deadline runs.
OPEN = frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.INFO_REQUESTED})
# The service clock runs: the agency has the file. It stops while the citizen is asked for
# information (``info_requested``) and resumes when they answer (``apps.applications.clock``).
CLOCK_RUNNING = frozenset({Status.SUBMITTED, Status.IN_REVIEW})
# The citizen may change answers and documents.
EDITABLE = frozenset({Status.DRAFT, Status.INFO_REQUESTED})
# Submitted, waiting for the fee: the agency does not work on it yet, the deadline does not run.
AWAITING_FEE = frozenset({Status.AWAITING_PAYMENT})
# Staff never see drafts: they are the citizen's own until submitted.
STAFF_VISIBLE = frozenset(Status.values) - {Status.DRAFT}

STAFF_WORKERS = frozenset({Actor.AGENT, Actor.SUPERVISOR, Actor.AGENCY_ADMIN})
SUPERVISORS = frozenset({Actor.SUPERVISOR, Actor.AGENCY_ADMIN})
STAFF_ROLES = frozenset(Role.values)


@dataclass(frozen=True)
class Transition:
    """One allowed move of the workflow."""

    action: str
    sources: frozenset[str]
    target: str | None  # None: the status does not change (reassignment)
    roles: frozenset[str]
    event: str  # audit action
    label: object  # human name (lazy translation)
    reason: Reason = Reason.NONE
    # Shown to the citizen in their history (decisions, requests for information).
    reason_is_public: bool = False
    assignment: Assignment = Assignment.KEEP
    # An agent may only act on an application assigned to them (supervisors and admins on any).
    agent_must_be_assignee: bool = False
    # Only for an application someone already holds (reassignment).
    requires_assignee: bool = False
    # Where the transition leads instead when the application's fee is still due (payment gate).
    target_when_fee_due: str | None = None
    # Made by another app's service only (payments), never offered as a button or API action.
    internal: bool = False

    @property
    def by_staff(self) -> bool:
        """Staff transitions need ``If-Match`` (optimistic concurrency between agents)."""
        return bool(self.roles & STAFF_ROLES)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            action="submit",
            sources=frozenset({Status.DRAFT}),
            target=Status.SUBMITTED,
            roles=frozenset({Actor.CITIZEN}),
            event="application.submitted",
            label=_("Submit"),
            target_when_fee_due=Status.AWAITING_PAYMENT,
        ),
        Transition(
            action="confirm_payment",
            sources=AWAITING_FEE,
            target=Status.SUBMITTED,
            roles=frozenset({Actor.SYSTEM}),
            event="application.payment_confirmed",
            label=_("Confirm the payment"),
            internal=True,
        ),
        Transition(
            action="exempt_fee",
            sources=AWAITING_FEE,
            target=Status.SUBMITTED,
            roles=SUPERVISORS,
            event="application.fee_exempted",
            label=_("Exempt from the fee"),
            reason=Reason.REQUIRED,
            internal=True,
        ),
        Transition(
            action="withdraw",
            sources=frozenset({Status.DRAFT}) | AWAITING_FEE | OPEN,
            target=Status.WITHDRAWN,
            roles=frozenset({Actor.CITIZEN}),
            event="application.withdrawn",
            label=_("Withdraw"),
            reason=Reason.OPTIONAL,
            reason_is_public=True,
        ),
        Transition(
            action="take",
            sources=frozenset({Status.SUBMITTED}),
            target=Status.IN_REVIEW,
            roles=STAFF_WORKERS,
            event="application.taken",
            label=_("Assign to me"),
            assignment=Assignment.SELF,
        ),
        Transition(
            action="assign",
            sources=frozenset({Status.SUBMITTED}),
            target=Status.IN_REVIEW,
            roles=SUPERVISORS,
            event="application.assigned",
            label=_("Assign"),
            reason=Reason.OPTIONAL,
            assignment=Assignment.GIVEN,
        ),
        Transition(
            action="reassign",
            sources=OPEN,
            target=None,
            roles=SUPERVISORS,
            event="application.reassigned",
            label=_("Reassign"),
            reason=Reason.OPTIONAL,
            assignment=Assignment.GIVEN,
            requires_assignee=True,
        ),
        Transition(
            action="request_info",
            sources=frozenset({Status.IN_REVIEW}),
            target=Status.INFO_REQUESTED,
            roles=STAFF_WORKERS,
            event="application.info_requested",
            label=_("Request information"),
            reason=Reason.REQUIRED,
            reason_is_public=True,
            agent_must_be_assignee=True,
        ),
        Transition(
            action="answer_info",
            sources=frozenset({Status.INFO_REQUESTED}),
            target=Status.SUBMITTED,
            roles=frozenset({Actor.CITIZEN}),
            event="application.info_answered",
            label=_("Answer the request"),
            reason=Reason.OPTIONAL,
            reason_is_public=True,
        ),
        Transition(
            action="approve",
            sources=frozenset({Status.IN_REVIEW}),
            target=Status.APPROVED,
            roles=STAFF_WORKERS,
            event="application.approved",
            label=_("Approve"),
            reason=Reason.OPTIONAL,
            reason_is_public=True,
            agent_must_be_assignee=True,
        ),
        Transition(
            action="reject",
            sources=frozenset({Status.IN_REVIEW}),
            target=Status.REJECTED,
            roles=STAFF_WORKERS,
            event="application.rejected",
            label=_("Reject"),
            reason=Reason.REQUIRED,
            reason_is_public=True,
            agent_must_be_assignee=True,
        ),
        Transition(
            action="close",
            sources=frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN}),
            target=Status.CLOSED,
            roles=SUPERVISORS,
            event="application.closed",
            label=_("Close"),
            reason=Reason.OPTIONAL,
        ),
    )
}

STAFF_ACTIONS = tuple(name for name, t in TRANSITIONS.items() if t.by_staff)
CITIZEN_ACTIONS = tuple(name for name, t in TRANSITIONS.items() if Actor.CITIZEN in t.roles)
# Transitions that hand an application to the agency: its deadline starts then.
RELEASES_TO_AGENCY = frozenset({"submit", "confirm_payment", "exempt_fee"})


def transition_target(transition: Transition, *, fee_due: bool) -> str | None:
    """Where ``transition`` leads: a submission whose fee is still due waits for its payment."""
    if fee_due and transition.target_when_fee_due is not None:
        return transition.target_when_fee_due
    return transition.target


def transition_get(action: str) -> Transition | None:
    """The transition called ``action``, or None."""
    return TRANSITIONS.get(action)


def actions_available(
    *, status: str, role: str, is_assignee: bool, has_assignee: bool
) -> list[str]:
    """The actions ``role`` could make now (for buttons and the API's ``actions`` member).

    The same rules as the transition service, minus input checks (reasons, assignee names).
    """
    available: list[str] = []
    for transition in TRANSITIONS.values():
        if transition.internal:
            continue
        if status not in transition.sources or role not in transition.roles:
            continue
        if transition.agent_must_be_assignee and role == Actor.AGENT and not is_assignee:
            continue
        if transition.action == "take" and has_assignee and not is_assignee:
            continue
        if transition.requires_assignee and not has_assignee:
            continue
        available.append(transition.action)
    return available
