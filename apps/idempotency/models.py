"""The durable record of an idempotent request's final answer.

One table per schema (the app is in SHARED_APPS and TENANT_APPS): a record written while the
connection is on agency A's schema lives in A's table, so keys never collide across agencies.
"""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first answer given to ``(scope, caller, key)``, replayed to every retry for 24 h.

    The row is inserted at the start of the request's transaction (``status_code`` NULL) and
    completed before commit, so other transactions only ever see completed rows; the unique
    constraint makes a concurrent retry wait for the first one and then replay its answer.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scope = models.CharField(_("scope"), max_length=64)
    # "<token kind>:<sub>" for authenticated callers, "ip:<address>" for anonymous ones.
    caller = models.CharField(_("caller"), max_length=128)
    key = models.CharField(_("idempotency key"), max_length=255)
    # SHA-256 (hex) of method, path and canonical body.
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.JSONField(
        _("response body"), null=True, blank=True, encoder=DjangoJSONEncoder
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "caller", "key"], name="idempotency_record_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.caller} {self.status_code}"
