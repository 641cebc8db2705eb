"""Sending signed tree heads to an outside witness and keeping its co-signature.

``AUDIT_WITNESS_URL`` (one per deployment, e.g. the data-protection authority's endpoint)
receives ``POST`` with the JSON tree-head document (``tree_head_document``: the signed
message, its ``signature`` and the platform's ``key_id``). The witness checks it (and that it
is consistent with the last head it saw of that schema, with ``/api/v1/audit/consistency/``)
and answers ``200`` with ``{"witness": NAME, "key_id": KID, "signature": BASE64}``, its own
Ed25519 signature of the same canonical message. The answer is stored as an
``AuditWitnessSignature``. A witness that is down or refuses costs a log line, never a seal.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import structlog
from django.conf import settings
from django.utils import timezone

from apps.audit.canonical import tree_head_message
from apps.audit.models import AuditTreeHead, AuditWitnessSignature

logger = structlog.get_logger(__name__)


def tree_head_message_of(head: AuditTreeHead) -> dict[str, Any]:
    """The signed statement of ``head`` (what the platform and the witnesses sign)."""
    return tree_head_message(
        schema=head.agency_schema,
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        timestamp=head.signed_at,
        key_id=head.key_id,
    )


def tree_head_document(head: AuditTreeHead) -> dict[str, Any]:
    """The signed tree head as published: the message plus ``signature`` and co-signatures."""
    document = tree_head_message_of(head)
    document["signature"] = head.signature
    return document


def audit_witness_submit(head: AuditTreeHead) -> AuditWitnessSignature | None:
    """POST ``head`` to ``AUDIT_WITNESS_URL`` and store the co-signature; None if none came."""
    url = str(getattr(settings, "AUDIT_WITNESS_URL", "") or "")
    if not url or not head.signature:
        return None
    body = json.dumps(tree_head_document(head)).encode()
    request = urllib.request.Request(  # noqa: S310 - operator-configured URL
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=float(settings.AUDIT_WITNESS_TIMEOUT_SECONDS)
        ) as response:
            answer = json.loads(response.read(65536))
        signature = AuditWitnessSignature(
            head=head,
            witness=str(answer["witness"])[:128],
            key_id=str(answer.get("key_id", ""))[:64],
            signature=str(answer["signature"])[:256],
            received_at=timezone.now(),
        )
        signature.save()
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError) as exc:
        logger.warning(
            "audit_witness_failed",
            schema=head.agency_schema,
            tree_size=head.tree_size,
            error=type(exc).__name__,
        )
        return None
    logger.info("audit_witness_cosigned", schema=head.agency_schema, tree_size=head.tree_size)
    return signature
