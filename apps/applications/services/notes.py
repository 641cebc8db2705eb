"""Internal notes between civil servants."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.applications.errors import TransitionForbidden
from apps.applications.models import InternalNote
from apps.applications.services.common import application_lock
from apps.applications.workflow import STAFF_WORKERS
from apps.audit.services import REDACTED, audit_record
from apps.core.errors import InvalidInput

MAX_NOTE_CHARS = 5000


@transaction.atomic
def application_note_add(
    *, application_id: UUID, author: User, role: str, body: str
) -> InternalNote:
    """Add an internal note (agents, supervisors and agency admins; never shown to citizens).

    Notes do not change the application's version: writing one never makes a colleague's
    decision fail its ``If-Match``.
    """
    application = application_lock(application_id=application_id, actor=author, role=role)
    if role not in STAFF_WORKERS:
        raise TransitionForbidden(_("Your role does not allow writing notes."))
    text = (body or "").strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(
            errors={
                "body": [_("Write between 1 and %(limit)d characters.") % {"limit": MAX_NOTE_CHARS}]
            }
        )
    note = InternalNote.objects.create(application=application, author=author, body=text)
    audit_record(
        action="application.note_added",
        target_type="application",
        target_id=application.id,
        changes={
            "note": {"old": None, "new": str(note.id)},
            "body": {"old": None, "new": REDACTED},
        },
    )
    return note
