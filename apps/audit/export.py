"""Exports of a chain as JSON Lines, with the checkpoint and key that let anyone verify them.

Each line but the last is one event's canonical record (``apps.audit.canonical``) including
its ``hash``, byte for byte as it was hashed plus the ``hash`` key. The last line is the
trailer: ``{"export": {...}, "checkpoint": {...} | null, "public_key": ..., "key_id": ...}``
where ``checkpoint`` is the latest signed checkpoint inside the exported range. docs/audit.md
shows how to verify an export with hashlib and ``cryptography`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django_tenants.utils import schema_context

from apps.audit.canonical import canonical_bytes
from apps.audit.checkpoints import checkpoint_document
from apps.audit.models import AuditCheckpoint
from apps.audit.selectors import (
    audit_checkpoint_latest,
    audit_event_records,
    audit_head_sequence,
)
from apps.audit.services import audit_record
from apps.audit.signing import ALGORITHM, schema_key
from apps.core.tenancy import current_schema

EXPORT_ACTION = "audit.exported"


@dataclass(frozen=True)
class AuditExport:
    """A planned export: its range is fixed when it starts, the lines are produced lazily."""

    schema: str
    from_sequence: int
    to_sequence: int
    head_sequence: int
    checkpoint: AuditCheckpoint | None

    def trailer(self, count: int) -> dict[str, Any]:
        """The last line: what was exported, the checkpoint covering it and the public key."""
        key = schema_key(self.schema)
        return {
            "export": {
                "schema": self.schema,
                "from_sequence": self.from_sequence,
                "to_sequence": self.to_sequence,
                "events": count,
                "head_sequence": self.head_sequence,
            },
            "checkpoint": (
                checkpoint_document(self.checkpoint) if self.checkpoint is not None else None
            ),
            "algorithm": ALGORITHM,
            "key_id": key.key_id,
            "public_key": key.public_base64,
        }

    def lines(self) -> Iterator[bytes]:
        """The JSON Lines of the export, streamed from the database (constant memory)."""
        count = 0
        with schema_context(self.schema):
            if self.to_sequence >= self.from_sequence:
                for record in audit_event_records(
                    from_sequence=self.from_sequence, to_sequence=self.to_sequence
                ):
                    count += 1
                    yield canonical_bytes(record) + b"\n"
        yield canonical_bytes(self.trailer(count)) + b"\n"


def audit_export_start(*, from_sequence: int = 1, to_sequence: int | None = None) -> AuditExport:
    """Fix the range of an export of the current schema's chain and audit the export.

    The range ends at ``to_sequence`` or the current head, whichever is lower; the export's
    own ``audit.exported`` event comes after it.
    """
    schema = current_schema()
    head = audit_head_sequence()
    end = head if to_sequence is None else min(to_sequence, head)
    checkpoint = (
        audit_checkpoint_latest(min_sequence=from_sequence, max_sequence=end)
        if end >= from_sequence
        else None
    )
    audit_record(
        action=EXPORT_ACTION,
        target_type="audit_chain",
        target_id=schema,
        changes={
            "from_sequence": {"old": None, "new": from_sequence},
            "to_sequence": {"old": None, "new": end},
        },
    )
    return AuditExport(schema, from_sequence, end, head, checkpoint)
