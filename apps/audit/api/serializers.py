"""Serializers of the audit API (agency hosts)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
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


class AuditExportQueryInputSerializer(StrictInputSerializer):
    """The range of an export (inclusive); by default the whole chain."""

    from_sequence = serializers.IntegerField(min_value=1, required=False, default=1)
    to_sequence = serializers.IntegerField(min_value=1, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("to_sequence")
        if end is not None and end < attrs["from_sequence"]:
            raise serializers.ValidationError(
                {"to_sequence": [_("Must not be smaller than from_sequence.")]}
            )
        return attrs


class AuditPublicKeyOutputSerializer(serializers.Serializer):
    """The public key this agency's checkpoints are signed with."""

    schema = serializers.CharField()
    algorithm = serializers.CharField(help_text="Always Ed25519.")
    key_id = serializers.CharField(help_text="First 16 hex digits of SHA-256(raw public key).")
    public_key = serializers.CharField(help_text="The 32 raw key bytes, base64.")
    public_key_pem = serializers.CharField(help_text="SubjectPublicKeyInfo PEM.")
