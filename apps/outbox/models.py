"""Outbox messages: work that must happen after a change, written in the change's transaction.

A row is the durable promise of a notification, a webhook delivery or a document job. It is
inserted by ``outbox_enqueue`` inside the transaction of the change that causes it, so the
promise exists if and only if the change committed; the relay publishes pending rows to Celery
and the delivery task marks each row ``sent`` exactly once (or ``dead`` after too many
attempts). The payload holds ids, never ORM objects or personal data.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What delivering the message does (each kind has one handler)."""

    NOTIFICATION = "notification", _("Notification")
    WEBHOOK = "webhook", _("Webhook")
    DOCUMENT = "document", _("Document")
    REALTIME = "realtime", _("Real-time event")


class Status(models.TextChoices):
    """Where a message stands."""

    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead letter")
    # An attempt was interrupted after contacting the provider, and the provider cannot say
    # whether it took the message: not sent again on its own (it would reach the person
    # twice); an operator checks and re-queues it, or leaves it.
    UNKNOWN = "unknown", _("Outcome unknown")


class OutboxMessage(models.Model):
    """One unit of follow-up work (one SMS, one e-mail, one webhook delivery, one document).

    ``next_attempt_at`` is when the next attempt is due; ``lease_until`` stops the relay from
    publishing a row again while a published copy may still be on its way (it is published
    again after the lease if that copy was lost). ``dedupe_key`` (optional) makes an enqueue
    happen once: a second row with the same key is not written. ``attempt_started_at`` records
    an attempt before the provider is contacted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    payload = models.JSONField(_("payload"), default=dict)
    dedupe_key = models.CharField(_("de-duplication key"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    lease_until = models.DateTimeField(_("published, lease until"), null=True, blank=True)
    # Committed before the provider is contacted, cleared with the attempt's outcome: a
    # delivery that finds it set follows an attempt interrupted mid-way (a killed worker) and
    # asks the provider before sending again (``apps.outbox.services.outbox_process``).
    attempt_started_at = models.DateTimeField(_("attempt in progress since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # The request (or task) that wrote the row: its delivery task runs and logs under this id.
    request_id = models.CharField(_("request id"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    dead_at = models.DateTimeField(_("dead-lettered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="outbox_dedupe_key_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.SENT) | Q(sent_at__isnull=False),
                name="outbox_sent_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.DEAD) | Q(dead_at__isnull=False),
                name="outbox_dead_has_date",
            ),
        ]
        indexes = [
            # The relay's claim: pending rows that are due, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=Status.PENDING),
                name="outbox_pending_due_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="outbox_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"
