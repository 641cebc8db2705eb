"""The event log of the real-time gateway (public schema).

One row per event, written by the outbox delivery of a committed change
(``apps.realtime.services.realtime_event_publish``), never by the change itself: the ids are
allocated under a transaction-level advisory lock, so they become visible in increasing
order and a client that has seen id N has seen every event before N meant for it. Rows are
kept for ``REALTIME_RETENTION_HOURS`` (24 h) and then purged.

A row holds ids, a reference, a status and a service code, never form answers, documents or
people's names; the status and queue labels are rendered in each receiver's language when the
event is sent (service and agency names are kept in both languages, like the directory).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RealtimeEvent(models.Model):
    """One change of one application, as citizens and the agency's staff see it.

    ``to_citizen``: the owner is told (status changes); ``to_staff``: the agency's queue is
    told (every transition, reassignments included). ``change`` is the queue's word for it
    (``submitted``, ``taken``, ``decided``, ``answered``...).
    """

    id = models.BigAutoField(primary_key=True)
    agency_schema = models.CharField(_("agency schema"), max_length=63)
    outbox_message_id = models.UUIDField(_("outbox message"), unique=True)
    action = models.CharField(_("action"), max_length=64)
    change = models.CharField(_("queue change"), max_length=32)
    application_id = models.UUIDField(_("application"))
    citizen_id = models.UUIDField(_("citizen"))
    assignee_id = models.UUIDField(_("assignee"), null=True, blank=True)
    actor_id = models.UUIDField(_("actor"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=20)
    service_code = models.CharField(_("service code"), max_length=64)
    service_name_fr = models.CharField(_("service (French)"), max_length=200, blank=True)
    service_name_en = models.CharField(_("service (English)"), max_length=200, blank=True)
    agency_slug = models.CharField(_("agency slug"), max_length=50, blank=True)
    agency_name_fr = models.CharField(_("agency (French)"), max_length=200, blank=True)
    agency_name_en = models.CharField(_("agency (English)"), max_length=200, blank=True)
    to_citizen = models.BooleanField(_("sent to the citizen"), default=True)
    to_staff = models.BooleanField(_("sent to the agency's staff"), default=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("real-time event")
        verbose_name_plural = _("real-time events")
        ordering = ("id",)
        indexes = [
            models.Index(fields=["citizen_id", "id"], name="realtime_citizen_idx"),
            models.Index(fields=["agency_schema", "id"], name="realtime_agency_idx"),
            models.Index(fields=["application_id", "id"], name="realtime_application_idx"),
            models.Index(fields=["created_at"], name="realtime_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.action} {self.reference or self.application_id}"
