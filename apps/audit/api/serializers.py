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


class WitnessSignatureOutputSerializer(serializers.Serializer):
    """An outside witness's co-signature of a tree head."""

    witness = serializers.CharField(help_text=_("Name the witness gives itself."))
    key_id = serializers.CharField(help_text=_("Identifier of the witness's key."))
    signature = serializers.CharField(
        help_text=_("The witness's Ed25519 signature (base64) of the same tree-head message.")
    )
    received_at = serializers.DateTimeField(help_text=_("When the co-signature arrived."))


class TreeHeadOutputSerializer(serializers.Serializer):
    """A signed tree head: the message that is signed, its signature and co-signatures."""

    v = serializers.IntegerField(help_text=_("Format version (1)."))
    type = serializers.CharField(help_text=_("Always `guichet.audit.tree_head`."))
    schema = serializers.CharField(help_text=_("Schema of the agency whose log this is."))
    tree_size = serializers.IntegerField(help_text=_("Number of events (leaves) covered."))
    root_hash = serializers.CharField(
        help_text=_("RFC 9162 Merkle tree hash of those events, 64 hex digits.")
    )
    timestamp = serializers.CharField(help_text=_("When it was signed (UTC, microseconds)."))
    key_id = serializers.CharField(
        help_text=_("Identifier of the platform's audit key that signed it (see audit keys).")
    )
    signature = serializers.CharField(
        help_text=_("Ed25519 signature (base64) of the canonical JSON of the fields above.")
    )
    witness_signatures = WitnessSignatureOutputSerializer(
        many=True, help_text=_("Co-signatures of outside witnesses, if any.")
    )


class InclusionProofOutputSerializer(serializers.Serializer):
    """The proof that one event is in the agency's log."""

    event = serializers.JSONField(
        help_text=_("The event's canonical record (its `hash` is the Merkle leaf).")
    )
    leaf_index = serializers.IntegerField(help_text=_("The leaf's index (sequence - 1)."))
    tree_size = serializers.IntegerField(help_text=_("Size of the tree the proof is for."))
    audit_path = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("RFC 9162 audit path: sibling hashes, leaf side first, 64 hex digits each."),
    )
    tree_head = TreeHeadOutputSerializer(help_text=_("The signed tree head proved against."))


class ConsistencyProofOutputSerializer(serializers.Serializer):
    """The proof that a later tree head extends an earlier one (the log only grew)."""

    first = serializers.IntegerField(help_text=_("Size of the earlier tree."))
    second = serializers.IntegerField(help_text=_("Size of the later tree."))
    proof = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("RFC 9162 consistency proof, 64 hex digits each."),
    )
    first_tree_head = TreeHeadOutputSerializer(help_text=_("The signed head of size `first`."))
    second_tree_head = TreeHeadOutputSerializer(help_text=_("The signed head of size `second`."))


class TreeHeadQueryInputSerializer(StrictInputSerializer):
    """Which tree head: the latest by default."""

    tree_size = serializers.IntegerField(
        required=False, min_value=1, help_text=_("Size of the tree head wanted (default latest).")
    )


class ConsistencyQueryInputSerializer(StrictInputSerializer):
    """The two tree sizes to prove consistent."""

    first = serializers.IntegerField(min_value=1, help_text=_("Size of the earlier tree head."))
    second = serializers.IntegerField(min_value=1, help_text=_("Size of the later tree head."))


class AuditKeyOutputSerializer(serializers.Serializer):
    """One key of the platform's audit key ring, with its history."""

    kid = serializers.CharField(help_text=_("Key identifier, as in `key_id` of a tree head."))
    algorithm = serializers.CharField(help_text=_("Signature algorithm (EdDSA: Ed25519)."))
    public_key = serializers.CharField(help_text=_("Raw Ed25519 public key, base64."))
    public_key_pem = serializers.CharField(help_text=_("The same key as a PEM public key."))
    status = serializers.CharField(
        help_text=_("active (signs now), verifying or retired (signed earlier heads only).")
    )
    created_at = serializers.DateTimeField(help_text=_("When the key was made."))
    retired_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When it stopped signing for good, if it did.")
    )
