"""Serializers of the audit API (agency hosts)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.audit.models import AuditEvent
from apps.core.serializers import StrictInputSerializer


class AuditEventOutputSerializer(serializers.ModelSerializer):
    """One event of the agency's chain, with its chain fields."""

    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "sequence",
            "occurred_at",
            "agency_schema",
            "actor_type",
            "actor_id",
            "actor_role",
            "action",
            "target_type",
            "target_id",
            "changes",
            "outcome",
            "ip",
            "user_agent",
            "request_id",
            "version",
            "prev_hash",
            "hash",
        )
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": _("The event's identifier.")},
            "sequence": {"help_text": _("Position in the agency's chain, from 1, gap-free.")},
            "occurred_at": {"help_text": _("When it happened.")},
            "agency_schema": {"help_text": _("Schema of the agency whose chain holds it.")},
            "actor_type": {
                "help_text": _("Who acted: anonymous, a user, a partner or the system.")
            },
            "actor_id": {"help_text": _("Identifier of the actor; empty for the system.")},
            "actor_role": {"help_text": _("Role the actor acted in (e.g. `agent`).")},
            "action": {"help_text": _("What was done (e.g. `application.approve`).")},
            "target_type": {"help_text": _("Kind of object acted on (e.g. `application`).")},
            "target_id": {"help_text": _("Identifier of the object acted on.")},
            "changes": {
                "help_text": _(
                    'Changed fields, each `{"old": ..., "new": ...}`; personal data redacted.'
                )
            },
            "outcome": {"help_text": _("How it ended: success, denied or failed.")},
            "ip": {"help_text": _("Source address of the request; null outside requests.")},
            "user_agent": {"help_text": _("User agent of the request; empty outside requests.")},
            "request_id": {"help_text": _("Request id, as in the logs and problem documents.")},
            "version": {"help_text": _("Format version of the chain fields.")},
            "prev_hash": {"help_text": _("Hash of the previous event (hex SHA-256).")},
            "hash": {
                "help_text": _("Hash of this event over its fields and `prev_hash` (hex SHA-256).")
            },
        }


class AuditExportQueryInputSerializer(StrictInputSerializer):
    """The range of an export (inclusive); by default the whole chain."""

    from_sequence = serializers.IntegerField(
        min_value=1, required=False, default=1, help_text=_("First sequence exported.")
    )
    to_sequence = serializers.IntegerField(
        min_value=1, required=False, help_text=_("Last sequence exported; by default the last.")
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("to_sequence")
        if end is not None and end < attrs["from_sequence"]:
            raise serializers.ValidationError(
                {"to_sequence": [_("Must not be smaller than from_sequence.")]}
            )
        return attrs


class AuditPublicKeyOutputSerializer(serializers.Serializer):
    """The public key this agency's checkpoints are signed with."""

    schema = serializers.CharField(help_text=_("Schema of the agency whose key this is."))
    algorithm = serializers.CharField(help_text=_("Always Ed25519."))
    key_id = serializers.CharField(help_text=_("First 16 hex digits of SHA-256(raw public key)."))
    public_key = serializers.CharField(help_text=_("The 32 raw key bytes, base64."))
    public_key_pem = serializers.CharField(help_text=_("SubjectPublicKeyInfo PEM."))
