"""Applications, their history, internal notes, attachments and reference sequences (agency schema).

Every write goes through ``apps.applications.services``; the status of an application only
changes through ``application_transition`` (see ``apps.applications.workflow``).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.applications.workflow import CLOCK_RUNNING, Status

# People live in the public schema, applications in each agency's. Deleting a user from the
# public schema must not make Django look for these agency tables there (they do not exist on
# its search path), so the ORM does nothing for these relations and the database's foreign
# keys (agency table -> public.accounts_user) refuse to delete a person who still has
# applications, history, notes or documents: PROTECT, enforced by PostgreSQL.
PERSON = models.DO_NOTHING


class ReferenceSequence(models.Model):
    """The counter of one year's references in this agency (``EC-2026-000123``).

    The row is locked (``SELECT ... FOR UPDATE``) and incremented inside the submission's
    transaction, so a rolled-back submission gives its number back: references are gap-free.
    ``prefix`` overrides the default (initials of the agency's slug parts, ``EC`` for
    ``etat-civil``).
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    prefix = models.CharField(_("prefix"), max_length=8, blank=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("reference sequence")
        verbose_name_plural = _("reference sequences")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Application(models.Model):
    """A citizen's request for one service of this agency.

    ``version`` grows with every change and makes the ``ETag``; staff decisions must send it
    back in ``If-Match`` so two agents never overwrite each other.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=32, unique=True, null=True, blank=True)
    service = models.ForeignKey(
        "catalogue.Service",
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("service"),
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=PERSON,
        related_name="+",
        verbose_name=_("citizen"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    form_data = models.JSONField(_("answers"), default=dict, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=PERSON,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("assignee"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    # The open request for information, shown to the citizen until they answer it.
    info_request = models.TextField(_("information requested"), blank=True)
    # The service clock (``apps.applications.clock``): stopped while the citizen is asked for
    # information, the deadline moved by the working days it stood still once they answer.
    clock_paused_at = models.DateTimeField(_("clock stopped at"), null=True, blank=True)
    paused_working_days = models.PositiveIntegerField(_("working days stopped"), default=0)
    # Set once by the periodic task when the deadline passed (with an audit event).
    overdue_flagged_at = models.DateTimeField(_("flagged overdue at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    # Personal data: answers and free texts addressed to the citizen never appear in audit values.
    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"form_data", "decision_reason", "info_request"}
    )

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ("-created_at",)
        constraints = [
            # A draft withdrawn (and closed) before submission never gets a reference.
            models.CheckConstraint(
                condition=models.Q(status__in=[Status.DRAFT, Status.WITHDRAWN, Status.CLOSED])
                | models.Q(reference__isnull=False),
                name="applications_submitted_has_reference",
            ),
            models.CheckConstraint(
                condition=models.Q(reference__isnull=True, submitted_at__isnull=True)
                | models.Q(reference__isnull=False, submitted_at__isnull=False),
                name="applications_reference_with_submission",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=[Status.APPROVED, Status.REJECTED])
                | models.Q(decided_at__isnull=False),
                name="applications_decision_has_date",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.REJECTED) | ~models.Q(decision_reason=""),
                name="applications_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.IN_REVIEW) | models.Q(assignee__isnull=False),
                name="applications_in_review_is_assigned",
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="applications_version_positive"
            ),
            # The clock stands still exactly while the citizen is asked for information.
            models.CheckConstraint(
                condition=models.Q(status=Status.INFO_REQUESTED, clock_paused_at__isnull=False)
                | (
                    ~models.Q(status=Status.INFO_REQUESTED) & models.Q(clock_paused_at__isnull=True)
                ),
                name="applications_clock_paused_while_info_requested",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="applications_queue_idx"),
            models.Index(fields=["citizen", "-created_at"], name="applications_citizen_idx"),
            models.Index(fields=["assignee", "status"], name="applications_assignee_idx"),
            models.Index(fields=["submitted_at"], name="applications_submitted_idx"),
            # The console's processing-time figures (decisions of the last 30 days).
            models.Index(fields=["decided_at"], name="applications_decided_idx"),
        ]

    def __str__(self) -> str:
        return self.reference or str(self.id)

    @property
    def etag(self) -> str:
        """The strong entity tag of this version (quoted, as in the ``ETag`` header)."""
        digest = hashlib.sha256(f"{self.id}:{self.version}".encode()).hexdigest()[:32]
        return f'"{digest}"'

    @property
    def is_overdue(self) -> bool:
        """The deadline passed while the agency has the file (never while the citizen has it)."""
        return bool(self.due_at and self.status in CLOCK_RUNNING and self.due_at < timezone.now())


class HistoryEntry(models.Model):
    """One transition of an application: who, when, from which status to which, and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="history", verbose_name=_("application")
    )
    action = models.CharField(_("action"), max_length=32)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=PERSON,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("by"),
    )
    actor_role = models.CharField(_("role"), max_length=20)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=PERSON,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("assignee"),
    )
    reason = models.TextField(_("reason"), blank=True)
    # Decisions and requests for information are addressed to the citizen; reassignment notes
    # are not.
    reason_is_public = models.BooleanField(_("reason shown to the citizen"), default=False)
    occurred_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ("occurred_at", "id")
        indexes = [
            models.Index(fields=["application", "occurred_at"], name="applications_history_idx")
        ]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status or '-'} -> {self.to_status}"


class InternalNote(models.Model):
    """A note between civil servants about an application; never shown to the citizen."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="notes", verbose_name=_("application")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=PERSON,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("note"), max_length=5000)
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset({"body"})

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.author_id} {self.created_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """A document attached by the citizen, stored under the agency's own prefix.

    ``file_path`` is relative to the storage root and starts with the agency schema; the file is
    only ever sent by authenticated views (never from a public media URL). ``mime_type`` is what
    the content was sniffed as, not what the client claimed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        Application,
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("application"),
    )
    document_type = models.CharField(_("document type"), max_length=64)
    file_path = models.CharField(_("stored file"), max_length=255, unique=True)
    original_name = models.CharField(_("file name"), max_length=255)
    mime_type = models.CharField(_("type"), max_length=127)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=PERSON,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset({"original_name"})

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gte=0), name="applications_size_ok")
        ]

    def __str__(self) -> str:
        return f"{self.document_type} ({self.mime_type}, {self.size} B)"
