"""Fixtures of the audit tests: in-memory chains, auditors and their tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.audit.canonical import GENESIS_HASH, event_hash

BASE_TIME = datetime(2026, 11, 21, 8, 0, 0, 123456, tzinfo=UTC)


def build_chain(count: int, *, schema: str = "agence_a", seed: int = 0) -> list[dict[str, Any]]:
    """``count`` canonical records forming a valid chain (pure Python, no database)."""
    records: list[dict[str, Any]] = []
    prev_hash = GENESIS_HASH
    for index in range(count):
        sequence = index + 1
        record: dict[str, Any] = {
            "v": 1,
            "schema": schema,
            "sequence": sequence,
            "prev_hash": prev_hash,
            "id": str(uuid.UUID(int=(seed << 64) + sequence)),
            "occurred_at": (BASE_TIME + timedelta(seconds=index, microseconds=index)).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
            "actor_type": ("user", "partner", "system", "anonymous")[index % 4],
            "actor_id": f"actor-{index % 7}",
            "actor_role": ("agent", "supervisor", "", "auditor")[index % 4],
            "action": ("application.submitted", "application.approved", "access.read")[index % 3],
            "target_type": "application",
            "target_id": str(uuid.UUID(int=index + 1000)),
            "changes": {"status": {"old": "draft", "new": "submitted"}, "n": index, "é": "ü"},
            "outcome": ("success", "denied", "failed")[index % 3],
            "ip": ("10.0.0.1", "2001:db8::1", None)[index % 3],
            "user_agent": "Mozilla/5.0 (Guichet tests)",
            "request_id": f"req-{index:08d}",
        }
        record["hash"] = event_hash(record)
        prev_hash = record["hash"]
        records.append(record)
    return records


@pytest.fixture
def auditor_token(staff_of: Callable[..., Any], tokens: Callable[..., Any]) -> Callable[..., str]:
    """``auditor_token(agency, role="auditor")``: an access token of a new member of ``agency``."""
    from apps.accounts.models import Role
    from apps.accounts.tokens import TokenKind

    def make(agency: Any, role: str = Role.AUDITOR) -> str:
        user = staff_of(agency, role)
        return str(tokens(user, kind=TokenKind.STAFF, agency=agency, role=role).access)

    return make


@pytest.fixture
def scratch_schema(django_db_setup: None, django_db_blocker: Any):
    """A committed schema with the agency audit tables (and their triggers), dropped after.

    For tests whose writers must commit from several connections (concurrency); the test must
    not use the ``db`` fixture (whose transaction would hide the other connections' work).
    """
    from django.db import connection, connections

    from apps.audit.protection import audit_protect_schema

    name = f"audit_scratch_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
            from apps.audit.protection import PROTECTED_TABLES

            for table in PROTECTED_TABLES:
                cursor.execute(
                    f'CREATE TABLE "{name}".{table} (LIKE agency_template.{table} INCLUDING ALL)'
                )
            audit_protect_schema(cursor, name)
        try:
            yield name
        finally:
            connections.close_all()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA "{name}" CASCADE')
            connection.set_schema_to_public()
