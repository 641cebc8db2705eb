"""Audit events.

The app is installed in both the public schema (platform events: sign-ups, logins, agency
lifecycle, denied attempts) and every agency schema (the agency's own trail). Every write goes
through ``apps.audit.services.audit_record``.

Tamper evidence: an event is written without a place in the chain (``sequence`` null: no
lock across the writer's transaction) and *sealed* shortly after by ``apps.audit.sealing``:
numbered, linked to the event before (``prev_hash``), hashed, and added as a leaf to the
schema's Merkle tree (``AuditTreeNode``, RFC 9162 style) whose signed tree heads
(``AuditTreeHead``) anyone can check with the published keys. PostgreSQL triggers refuse
UPDATE, DELETE and TRUNCATE on every audit table (``apps.audit.protection``), except the one
sealing update of an event (its content must stay the same); ``AuditCheckpoint`` rows sign the
head of the chain with the schema's Ed25519 key (the daily checkpoints of chain format 1).
The ORM refuses updates and deletes too, so a mistake in Python fails before it reaches the
trigger.
"""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

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


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit row through the ORM."""


class AppendOnlyQuerySet(models.QuerySet):
    """Rows are written once: bulk updates and deletes are refused before any SQL is sent."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(models.Model):
    """A model whose rows can be inserted, never updated or deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class AuditEvent(AppendOnlyModel):
    """One recorded action, written in the same transaction as the change it describes.

    ``sequence`` numbers the events of this schema 1, 2, 3, ... without gaps; ``prev_hash`` is
    the ``hash`` of the event before (64 zeros for the first) and ``hash`` the SHA-256 of the
    canonical serialisation (format ``version``) of every other field. All three are null
    until the sealer (``apps.audit.sealing``) gives the event its place, at ``sealed_at``; the
    Merkle leaf of event ``sequence`` is leaf ``sequence - 1`` of the schema's tree.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveSmallIntegerField(_("chain format version"), default=1)
    sequence = models.BigIntegerField(_("sequence"), null=True, blank=True)
    # Null (not "") until sealed: "no place yet" is not a value of the chain.
    prev_hash = models.CharField(  # noqa: DJ001
        _("previous hash"), max_length=64, null=True, blank=True
    )
    hash = models.CharField(_("hash"), max_length=64, null=True, blank=True)  # noqa: DJ001
    sealed_at = models.DateTimeField(_("sealed at"), null=True, blank=True)
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
        ordering = ("sequence",)
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["actor_type", "actor_id"], name="audit_actor_idx"),
            # What the sealer reads: the events still waiting for their place, oldest first.
            models.Index(
                fields=["occurred_at", "id"],
                name="audit_unsealed_idx",
                condition=models.Q(sequence__isnull=True),
            ),
        ]
        constraints = [
            # The safety net under the per-schema append lock: a chain cannot fork.
            models.UniqueConstraint(fields=["sequence"], name="audit_event_sequence_unique"),
            models.CheckConstraint(
                condition=models.Q(sequence__gte=1), name="audit_event_sequence_positive"
            ),
        ]

    def __str__(self) -> str:
        place = f"#{self.sequence}" if self.sequence is not None else "#-"
        return f"{place} {self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"


class AuditCheckpoint(AppendOnlyModel):
    """A signed statement that event ``sequence`` of this schema's chain has hash ``hash``.

    The signature (Ed25519, base64) covers the canonical checkpoint message
    (``apps.audit.canonical.checkpoint_message``): schema, sequence, hash, time and key id.
    Whoever holds the schema's public key can check it, and through it every event up to
    ``sequence``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveSmallIntegerField(_("format version"), default=1)
    agency_schema = models.CharField(_("agency"), max_length=63)
    sequence = models.BigIntegerField(_("last sequence"))
    hash = models.CharField(_("last hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    key_id = models.CharField(_("key id"), max_length=16)
    signature = models.CharField(_("signature"), max_length=128)

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ("sequence", "signed_at")
        indexes = [models.Index(fields=["sequence"], name="audit_checkpoint_seq_idx")]

    def __str__(self) -> str:
        return f"{self.agency_schema} #{self.sequence} {self.signed_at:%Y-%m-%d %H:%M:%S}"


class AuditTreeNode(AppendOnlyModel):
    """The hash of one complete subtree of the schema's Merkle tree (RFC 9162, section 2.1).

    Node ``(level, index)`` covers leaves ``index * 2**level`` to ``(index + 1) * 2**level - 1``;
    level 0 holds the leaf hashes (``SHA-256(0x00 || event hash)``), higher levels
    ``SHA-256(0x01 || left || right)``. Only complete subtrees are stored: they never change
    once written, and any root or proof is computed from O(log n) of them.
    """

    level = models.PositiveSmallIntegerField(_("level"))
    index = models.BigIntegerField(_("index"))
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("audit tree node")
        verbose_name_plural = _("audit tree nodes")
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="audit_tree_node_unique")
        ]

    def __str__(self) -> str:
        return f"({self.level}, {self.index})"


class AuditTreeHead(AppendOnlyModel):
    """A signed tree head: "the first ``tree_size`` events of ``schema`` have root ``root_hash``".

    Signed (Ed25519, base64) over the canonical tree-head message
    (``apps.audit.canonical.tree_head_message``) with the key ``key_id`` of the key ring's
    ``audit`` kind (its public half is published with its history). Empty ``signature`` when no
    key could sign at sealing time (the tree is still stored; the next head is signed).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveSmallIntegerField(_("format version"), default=1)
    agency_schema = models.CharField(_("agency"), max_length=63)
    tree_size = models.BigIntegerField(_("tree size"))
    root_hash = models.CharField(_("root hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    key_id = models.CharField(_("key id"), max_length=64, blank=True)
    signature = models.CharField(_("signature"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("audit tree head")
        verbose_name_plural = _("audit tree heads")
        ordering = ("tree_size", "signed_at")
        indexes = [models.Index(fields=["tree_size"], name="audit_tree_head_size_idx")]

    def __str__(self) -> str:
        return f"{self.agency_schema} size {self.tree_size} {self.signed_at:%Y-%m-%d %H:%M:%S}"


class AuditWitnessSignature(AppendOnlyModel):
    """An outside witness's co-signature of a tree head (``AUDIT_WITNESS_URL``).

    ``witness`` is the name the witness gives itself, ``signature`` its signature (base64) of
    the same tree-head message, with its own key ``key_id``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    head = models.ForeignKey(
        AuditTreeHead,
        on_delete=models.PROTECT,
        related_name="witness_signatures",
        verbose_name=_("tree head"),
    )
    witness = models.CharField(_("witness"), max_length=128)
    key_id = models.CharField(_("key id"), max_length=64, blank=True)
    signature = models.CharField(_("signature"), max_length=256)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("witness co-signature")
        verbose_name_plural = _("witness co-signatures")
        ordering = ("received_at",)

    def __str__(self) -> str:
        return f"{self.witness} {self.received_at:%Y-%m-%d %H:%M:%S}"
