"""An attacker with superuser rights bypasses the triggers; ``audit_verify`` still catches it.

``SET LOCAL session_replication_role = replica`` disables ordinary triggers for the rest of the
test's transaction (only a superuser may do it), which is how such an attacker would rewrite
the table.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from apps.audit.canonical import event_hash
from apps.audit.checkpoints import audit_checkpoint_create
from apps.audit.selectors import audit_event_records, audit_head_sequence
from apps.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain_a(agency_a):
    """Six fresh events at the head of agency A's chain; returns their sequences."""
    with schema_context("agence_a"):
        start = audit_head_sequence()
        for index in range(6):
            audit_record(action=f"tamper.target.{index}", target_id=str(index))
    return list(range(start + 1, start + 7))


def _as_attacker(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f"SET LOCAL search_path = agence_a, public; {sql}", params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def _verify_fails_at(sequence: int, reason: str) -> str:
    out = StringIO()
    with pytest.raises(CommandError, match="Broken audit chain"):
        call_command("audit_verify", "--agency", "agence-a", "--no-record", stdout=out)
    output = out.getvalue()
    assert f"agence_a: BROKEN at sequence {sequence}: {reason}" in output, output
    return output


def test_an_untampered_chain_passes(chain_a):
    out = StringIO()

    call_command("audit_verify", "--agency", "agence-a", "--no-record", stdout=out)

    assert "agence_a: OK" in out.getvalue()


def test_a_changed_field_is_caught(chain_a):
    target = chain_a[2]
    _as_attacker("UPDATE audit_auditevent SET target_id = 'forged' WHERE sequence = %s", [target])

    _verify_fails_at(target, "hash_mismatch")


def test_a_deleted_event_is_caught(chain_a):
    target = chain_a[1]
    _as_attacker("DELETE FROM audit_auditevent WHERE sequence = %s", [target])

    _verify_fails_at(target, "sequence_gap")


def test_two_swapped_events_are_caught(chain_a):
    first, second = chain_a[1], chain_a[3]
    _as_attacker(
        "UPDATE audit_auditevent SET sequence = sequence + 1000000 WHERE sequence IN (%s, %s);"
        "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s;"
        "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s",
        [first, second, second, first + 1000000, first, second + 1000000],
    )

    _verify_fails_at(first, "prev_hash_mismatch")


def test_a_forged_event_inserted_with_a_valid_hash_is_caught(chain_a):
    # The attacker makes room at position k + 1 and inserts an event that links to event k.
    k = chain_a[2]
    with schema_context("agence_a"):
        [previous] = audit_event_records(from_sequence=k, to_sequence=k)
        [template] = audit_event_records(from_sequence=k + 1, to_sequence=k + 1)
    forged = {
        **template,
        "id": "00000000-0000-4000-8000-000000000001",
        "action": "application.approved",
        "prev_hash": previous["hash"],
    }
    forged["hash"] = event_hash(forged)
    _as_attacker(
        "UPDATE audit_auditevent SET sequence = sequence + 1000000 WHERE sequence > %s;"
        "UPDATE audit_auditevent SET sequence = sequence - 999999 WHERE sequence > 1000000;"
        "INSERT INTO audit_auditevent (id, version, sequence, prev_hash, hash, occurred_at,"
        " agency_schema, actor_type, actor_id, actor_role, action, target_type, target_id,"
        " changes, outcome, ip, user_agent, request_id) SELECT %s, version, %s, %s, %s,"
        " occurred_at, agency_schema, actor_type, actor_id, actor_role, %s, target_type,"
        " target_id, changes, outcome, ip, user_agent, request_id"
        " FROM audit_auditevent WHERE sequence = %s",
        [k, forged["id"], k + 1, forged["prev_hash"], forged["hash"], forged["action"], k + 2],
    )
    with schema_context("agence_a"):
        [stored] = audit_event_records(from_sequence=k + 1, to_sequence=k + 1)
    assert stored["hash"] == event_hash(stored)  # the forged row is self-consistent

    _verify_fails_at(k + 2, "prev_hash_mismatch")


def test_deleting_the_last_events_is_caught_by_the_checkpoint(chain_a):
    with schema_context("agence_a"):
        checkpoint = audit_checkpoint_create(force=True).checkpoint
    _as_attacker("DELETE FROM audit_auditevent WHERE sequence >= %s", [chain_a[4]])

    _verify_fails_at(chain_a[4], "truncated")
    assert checkpoint.sequence == chain_a[-1] + 1


def test_a_forged_checkpoint_is_caught(chain_a):
    with schema_context("agence_a"):
        checkpoint = audit_checkpoint_create(force=True).checkpoint
    _as_attacker(
        "UPDATE audit_auditcheckpoint SET hash = %s WHERE id = %s", ["0" * 64, checkpoint.pk]
    )

    _verify_fails_at(checkpoint.sequence, "checkpoint_signature_invalid")


def test_checkpoints_of_an_earlier_key_are_skipped_not_reported(chain_a):
    with schema_context("agence_a"):
        checkpoint = audit_checkpoint_create(force=True).checkpoint
    _as_attacker(
        "UPDATE audit_auditcheckpoint SET key_id = '0123456789abcdef' WHERE id = %s",
        [checkpoint.pk],
    )
    out = StringIO()

    call_command("audit_verify", "--agency", "agence-a", "--no-record", stdout=out)

    assert "agence_a: OK" in out.getvalue()
    assert "0 checkpoints" in out.getvalue()
