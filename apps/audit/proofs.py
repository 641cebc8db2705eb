"""Reads of the Merkle tree: signed tree heads, inclusion and consistency proofs.

Every proof is computed from the stored complete subtrees (``AuditTreeNode``): the nodes a
proof needs are worked out first, then read in one query (``apps.audit.merkle.needed_nodes``).
What is returned is what ``scripts/verify_audit.py`` checks with the published keys only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.utils.translation import gettext as _

from apps.audit.canonical import event_record
from apps.audit.chain import EVENT_VALUE_FIELDS
from apps.audit.merkle import Node, consistency_path, inclusion_path, needed_nodes
from apps.audit.models import AuditEvent, AuditTreeHead, AuditTreeNode
from apps.audit.witness import tree_head_document
from apps.core.errors import InvalidInput, NotFoundError


class TreeHeadNotFound(NotFoundError):
    """No signed tree head of that size (or none at all yet)."""

    code = "audit_tree_head_not_found"


class AuditEventNotFound(NotFoundError):
    """No event with that id that the caller may see, or not sealed yet."""

    code = "audit_event_not_found"


def tree_head_get(*, tree_size: int | None = None) -> AuditTreeHead:
    """The latest signed tree head of the current schema (of ``tree_size`` leaves if given)."""
    queryset = AuditTreeHead.objects.exclude(signature="").prefetch_related("witness_signatures")
    if tree_size is not None:
        queryset = queryset.filter(tree_size=tree_size)
    head = queryset.order_by("-tree_size", "-signed_at").first()
    if head is None:
        raise TreeHeadNotFound(_("No signed tree head of this size exists yet."))
    return head


def tree_head_public(head: AuditTreeHead) -> dict[str, Any]:
    """The signed tree head as published, with the witnesses' co-signatures."""
    document = tree_head_document(head)
    document["witness_signatures"] = [
        {
            "witness": witness.witness,
            "key_id": witness.key_id,
            "signature": witness.signature,
            "received_at": witness.received_at,
        }
        for witness in head.witness_signatures.all()
    ]
    return document


def _reader(compute: Callable[[Callable[[Node], bytes]], Any]) -> Any:
    """Run ``compute`` against the stored nodes, read in one query."""
    wanted = needed_nodes(compute)
    condition = Q(pk__in=[])
    for level, index in wanted:
        condition |= Q(level=level, index=index)
    nodes = (
        {
            (level, index): bytes.fromhex(digest)
            for level, index, digest in AuditTreeNode.objects.filter(condition).values_list(
                "level", "index", "hash"
            )
        }
        if wanted
        else {}
    )
    missing = wanted - set(nodes)
    if missing:  # pragma: no cover - the sealer writes every complete subtree it finishes
        raise RuntimeError(f"the tree lacks nodes {sorted(missing)[:3]}")
    return compute(lambda key: nodes[key])


def inclusion_proof(*, event: AuditEvent, tree_size: int | None = None) -> dict[str, Any]:
    """The proof that ``event`` is in the tree of the signed head (latest, or of ``tree_size``)."""
    if event.sequence is None:
        raise AuditEventNotFound(_("This event is not sealed yet: ask again in a few seconds."))
    head = tree_head_get(tree_size=tree_size)
    index = event.sequence - 1
    if index >= head.tree_size:
        raise InvalidInput(
            _("This event came after that tree head: ask for a later one."),
            code="audit_event_after_tree_head",
        )
    path = _reader(lambda node: inclusion_path(index, head.tree_size, node))
    values = {name: getattr(event, name) for name in EVENT_VALUE_FIELDS}
    return {
        "event": event_record(values),
        "leaf_index": index,
        "tree_size": head.tree_size,
        "audit_path": [digest.hex() for digest in path],
        "tree_head": tree_head_public(head),
    }


def consistency_proof(*, first: int, second: int) -> dict[str, Any]:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    if first < 1 or second < first:
        raise InvalidInput(
            _("Ask for 1 ≤ first ≤ second."),
            code="audit_tree_sizes_invalid",
            errors={"first": [_("Must be between 1 and second.")]},
        )
    first_head = tree_head_get(tree_size=first)
    second_head = tree_head_get(tree_size=second)
    proof = _reader(lambda node: consistency_path(first, second, node))
    return {
        "first": first,
        "second": second,
        "proof": [digest.hex() for digest in proof],
        "first_tree_head": tree_head_public(first_head),
        "second_tree_head": tree_head_public(second_head),
    }


def audit_event_for_proof(*, event_id: UUID) -> AuditEvent:
    """The event named ``event_id`` in the current schema, or 404."""
    event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise AuditEventNotFound(_("No audit event with this id."))
    return event
