"""Audit events.

The app is installed in both the public schema (platform events: sign-ups, logins, agency
lifecycle, denied attempts) and every agency schema (the agency's own trail). Tamper evidence
(hash chain, append-only triggers, signed checkpoints) is layered on this table by its own
issue; every write already goes through ``apps.audit.services.audit_record``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorType(models.TextChoices):
    """Who acted."""

    ANONYMOUS = "anonymous", _("Anonymous")
    USER = "user", _("User")
    PARTNER = "partner", _("Partner client")
    SYSTEM = "system", _("System")


class Outcome(models.TextChoices):
    """How the attempt ended."""

    SUCCESS = "success", _("Success")
    DENIED = "denied", _("Denied")
    FAILED = "failed", _("Failed")


class AuditEvent(models.Model):
    """One recorded action, written in the same transaction as the change it describes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    agency_schema = models.CharField(_("agency"), max_length=63)
    actor_type = models.CharField(_("actor type"), max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(_("actor"), max_length=64, blank=True)
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target"), max_length=64, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("occurred_at",)
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["actor_type", "actor_id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"
