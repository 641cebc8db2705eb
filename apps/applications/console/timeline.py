"""One timeline of an application for the console: history, notes, documents, notifications.

Every item has a time, a kind, a French title, who did it (name and role) and an optional text
(the reason of a decision, the message to the citizen, the note). Read-only; four queries on top
of the application page's own (history, notes and documents are prefetched there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.applications.models import Application
from apps.applications.workflow import transition_get
from apps.audit.labels import role_label
from apps.outbox.models import Kind, OutboxMessage

NOTIFICATION_LABELS: dict[str, Any] = {
    "application_submitted": _("Acknowledgement of receipt"),
    "application_info_requested": _("Request for information"),
    "application_approved": _("Approval"),
    "application_rejected": _("Rejection"),
    "certificate_issued": _("Certificate available"),
    "application_assigned": _("Assignment"),
    "deadline_approaching": _("Deadline approaching"),
}
CHANNEL_LABELS: dict[str, Any] = {"sms": _("SMS"), "email": _("e-mail")}
OUTBOX_STATUS_LABELS: dict[str, Any] = {
    "pending": _("waiting to be sent"),
    "sent": _("sent"),
    "dead": _("failed"),
}
HISTORY_TITLES: dict[str, Any] = {
    "create": _("Draft created"),
    "submit": _("Application submitted"),
    "withdraw": _("Withdrawn by the citizen"),
    "take": _("Taken"),
    "assign": _("Assigned"),
    "reassign": _("Reassigned"),
    "request_info": _("Information requested — clock stopped"),
    "answer_info": _("Citizen answered — clock resumed"),
    "approve": _("Approved"),
    "reject": _("Rejected"),
    "close": _("Closed"),
}


@dataclass(frozen=True)
class TimelineItem:
    """One line of the timeline."""

    at: datetime
    kind: str  # history | note | document | notification
    title: str
    who: str
    text: str = ""
    detail: str = ""


def person_name(user: User | None) -> str:
    """A person's name, else their address or phone; '—' for nobody."""
    if user is None:
        return "—"
    return str(user.get_full_name() or user.email or user.phone or _("unknown person"))


def history_title(action: str) -> str:
    """The French title of a history entry's action."""
    title = HISTORY_TITLES.get(action)
    if title is not None:
        return str(title)
    transition = transition_get(action)
    return str(transition.label) if transition is not None else action


def application_timeline(application: Application) -> list[TimelineItem]:
    """Everything that happened to ``application``, oldest first."""
    items: list[TimelineItem] = []
    for entry in application.history.all():
        detail = ""
        if entry.action in ("take", "assign", "reassign") and entry.assignee_id:
            detail = str(_("Now held by %(name)s")) % {"name": person_name(entry.assignee)}
        items.append(
            TimelineItem(
                at=entry.occurred_at,
                kind="history",
                title=history_title(entry.action),
                who=_who(entry.actor, entry.actor_role),
                text=entry.reason,
                detail=detail,
            )
        )
    for note in application.notes.all():
        items.append(
            TimelineItem(
                at=note.created_at,
                kind="note",
                title=str(_("Internal note")),
                who=person_name(note.author),
                text=note.body,
            )
        )
    for attachment in application.attachments.all():
        items.append(
            TimelineItem(
                at=attachment.created_at,
                kind="document",
                title=str(_("Document added")),
                who=str(role_label("citizen")),
                detail=f"{attachment.document_type} — {attachment.original_name}",
            )
        )
    items.extend(_notifications(application))
    items.sort(key=lambda item: item.at)
    return items


def _who(actor: User | None, role: str) -> str:
    name = person_name(actor)
    label = role_label(role)
    return f"{name} ({label})" if label else name


def _notifications(application: Application) -> list[TimelineItem]:
    rows = list(
        OutboxMessage.objects.filter(
            kind=Kind.NOTIFICATION, payload__application_id=str(application.pk)
        )
        .order_by("created_at")
        .values("created_at", "sent_at", "status", "payload")[:200]
    )
    recipients = {str(row["payload"].get("recipient_id")) for row in rows}
    names = {
        str(user.pk): user for user in User.objects.filter(pk__in=[r for r in recipients if r])
    }
    items = []
    for row in rows:
        payload = row["payload"]
        template = str(payload.get("template", ""))
        channel = str(payload.get("channel", ""))
        recipient = names.get(str(payload.get("recipient_id")))
        items.append(
            TimelineItem(
                at=row["created_at"],
                kind="notification",
                title=str(_("Notification: %(name)s"))
                % {"name": NOTIFICATION_LABELS.get(template, template)},
                who=str(_("to %(name)s")) % {"name": person_name(recipient)},
                detail=f"{CHANNEL_LABELS.get(channel, channel)} — "
                f"{OUTBOX_STATUS_LABELS.get(row['status'], row['status'])}",
            )
        )
    return items
