"""The hash chain in PostgreSQL: gap-free per schema, linked, hashed; no fork under concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from apps.audit.canonical import GENESIS_HASH, event_hash
from apps.audit.chain import chain_head, lock_key
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_event_records
from apps.audit.services import audit_record
from apps.audit.verify import chain_verify


@pytest.mark.django_db
def test_events_are_numbered_linked_and_hashed_per_schema(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        start, head_hash = chain_head()
        first = audit_record(action="thing.one", target_type="thing", target_id=1)
        second = audit_record(action="thing.two", changes={"x": {"old": 1, "new": 2}})
    with schema_context(agency_b.schema_name):
        other_start, _ = chain_head()
        elsewhere = audit_record(action="thing.elsewhere")

    assert (first.sequence, second.sequence) == (start + 1, start + 2)
    assert first.prev_hash == head_hash
    assert second.prev_hash == first.hash
    assert elsewhere.sequence == other_start + 1  # B's chain is its own
    assert elsewhere.agency_schema == "agence_b"
    assert second.occurred_at >= first.occurred_at
    with schema_context(agency_a.schema_name):
        stored = list(audit_event_records(from_sequence=first.sequence))
    assert [r["hash"] for r in stored] == [first.hash, second.hash]
    assert all(r["hash"] == event_hash(r) for r in stored)  # the stored values hash the same


@pytest.mark.django_db
def test_the_first_event_of_a_schema_points_at_the_genesis(scratch_schema_in_transaction):
    with schema_context(scratch_schema_in_transaction):
        first = audit_record(action="genesis")

    assert (first.sequence, first.prev_hash) == (1, GENESIS_HASH)


@pytest.fixture
def scratch_schema_in_transaction(db):
    """An empty agency-like schema created inside the test's transaction (rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "audit_empty"')
        for table in ("audit_auditevent", "audit_audittreenode", "audit_audittreehead"):
            cursor.execute(
                f'CREATE TABLE "audit_empty".{table} (LIKE agency_template.{table} INCLUDING ALL)'
            )
    return "audit_empty"


@pytest.mark.django_db
def test_a_rolled_back_event_leaves_no_gap(agency_a):
    with schema_context(agency_a.schema_name):
        start, _ = chain_head()
        with transaction.atomic():
            sid = transaction.savepoint()
            audit_record(action="will.roll.back")
            transaction.savepoint_rollback(sid)
        kept = audit_record(action="kept")

    assert kept.sequence == start + 1


@pytest.mark.django_db
def test_stored_values_survive_the_round_trip_unchanged(agency_a):
    from apps.core.context import WorkContext, set_context

    set_context(WorkContext(request_id="r" * 80, ip="2001:DB8::0:1", user_agent="ü" * 600))
    with schema_context(agency_a.schema_name):
        event = audit_record(
            action="round.trip",
            target_id="t" * 100,
            changes={"big": 2**70, "float": 1e100, "text": "é\x00", "nested": [{"a": (1,)}]},
        )
        stored = AuditEvent.objects.get(pk=event.pk)
        [record] = audit_event_records(from_sequence=event.sequence, to_sequence=event.sequence)

    assert record["hash"] == event.hash == event_hash(record)
    assert stored.changes == {"big": 2**70, "float": "1e+100", "text": "é", "nested": [{"a": [1]}]}
    assert (len(stored.target_id), len(stored.user_agent), len(stored.request_id)) == (64, 512, 64)
    assert stored.ip == "2001:db8::1"


def test_lock_keys_are_signed_32_bit_and_differ_per_schema():
    keys = {lock_key(name) for name in ("public", "agence_a", "agence_b", "agency_template")}

    assert len(keys) == 4
    assert all(-(2**31) <= key < 2**31 for key in keys)


WRITERS = 8
EVENTS_PER_WRITER = 25


def test_concurrent_writers_never_fork_or_reorder_the_chain(scratch_schema):
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            barrier.wait()
            for index in range(EVENTS_PER_WRITER):
                with schema_context(scratch_schema), transaction.atomic():
                    audit_record(action="concurrent.write", target_id=f"{number}-{index}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    with schema_context(scratch_schema):
        sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
        result = chain_verify(audit_event_records(), schema=scratch_schema)
    total = WRITERS * EVENTS_PER_WRITER
    assert sorted(sequences) == list(range(1, total + 1))
    assert result.ok, result.first_break
    assert result.checked == total
