"""What the fields of the application APIs mean, for the OpenAPI documentation.

One text per field, shared by the citizen, staff and cross-agency serializers (they show the
same columns), used through ``extra_kwargs`` and ``help_text``. Lazy: the schema is generated
in the language of the request.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

FIELDS: dict[str, Any] = {
    # the application
    "id": _("The application's identifier."),
    "reference": _("Reference given at submission, e.g. EC-2026-000123; empty while a draft."),
    "service": _("The service applied for."),
    "status": _(
        "Where the application stands: draft, submitted, in_review, info_requested, approved, "
        "rejected, issued, closed or withdrawn."
    ),
    "submitted_at": _("When it was (last) submitted; null while a draft."),
    "due_at": _("Deadline of the agency's decision (working days of the service); null before."),
    "decided_at": _("When it was approved or rejected; null before."),
    "created_at": _("When the draft was started."),
    "updated_at": _("When it last changed."),
    "form_data": _("The answers to the service's form."),
    "decision_reason": _("The reason given with the decision; empty before."),
    "info_request": _("What the agency asked for, while information is requested; else empty."),
    "version": _("Version of the application; its ETag is derived from it (If-Match)."),
    "overdue_flagged_at": _("When it was found past its deadline; null if never."),
    "is_overdue": _(
        "True when its deadline passed while the agency has it (the service clock stops while "
        "the citizen is asked for information)."
    ),
    "citizen": _("The applicant."),
    "assignee": _("The agent in charge; null while unassigned."),
    "attachments": _("The documents attached."),
    "history": _("Every status change, oldest first."),
    "notes": _("Internal notes of the agency's staff (never shown to the citizen)."),
    "answers": _("The answers labelled with the form's titles, in the form's order."),
    "agency": _("The agency handling it."),
    # attachments
    "document_type": _("Code of the required document it is (see the service's document_types)."),
    "file_name": _("The file's name as uploaded."),
    "mime_type": _("The type sniffed from the content."),
    "size": _("Size in bytes."),
    "sha256": _("SHA-256 (hex) of the content."),
    "uploaded_at": _("When it was uploaded."),
    # history and notes
    "action": _("The transition (e.g. submit, take, approve)."),
    "from_status": _("Status before."),
    "to_status": _("Status after."),
    "at": _("When it happened."),
    "reason": _("The reason or message given with it; empty if none."),
    "actor": _("Who did it; null for the system."),
    "actor_role": _("The role they acted in (citizen, agent, supervisor...)."),
    "reason_is_public": _("True when the reason was shown to the citizen."),
    "author": _("The staff member who wrote it."),
    "body": _("The note's text."),
}


def described(*names: str) -> dict[str, dict[str, Any]]:
    """``extra_kwargs`` giving each of ``names`` its help text."""
    return {name: {"help_text": FIELDS[name]} for name in names}
