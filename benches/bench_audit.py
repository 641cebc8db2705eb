"""Audit trail benchmark: serialisation cost, append throughput, share of a submission.

Run: ``DATABASE_URL=postgres://... .venv/bin/python benches/bench_audit.py`` (under 60 s;
``--quick`` for about 25 s). Needs a reachable PostgreSQL database; it need not be migrated: the
bench creates a scratch schema ``bench_audit_<pid>`` holding the audit tables (created from the
models, with the append-only triggers) and drops it at the end. When the database is migrated
(``manage.py migrate_agencies``), part 3 also runs the real ``application_submit`` in a scratch
agency, deleted afterwards; its ``agency.created`` event stays in the platform trail, which is
append-only by design. The follow-up Celery task is published to an in-memory broker.

1. Serialisation: per event, building the canonical record, the canonical JSON bytes
   (``json.dumps``, the specification) and SHA-256; and the verifier's throughput (orjson fast
   path), in memory.
2. Append throughput: ``audit_record`` in its own transaction, by 1 and by 8 concurrent writer
   processes on the same schema (one chain, so the per-schema append lock is contended); the
   chain is verified afterwards.
3. Share of an application submission spent on audit: a transaction shaped like
   ``application_submit`` (lock the application row, allocate a reference, update the
   application with a 1 KB form, insert a history entry, upsert the cross-agency index entry,
   insert an outbox message) run with and without its ``audit_record`` call, alternating; and
   ``application_submit`` itself in a scratch agency when the database is migrated.

Results: a Markdown summary on stdout and ``benches/results/audit.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.audit.canonical import canonical_bytes, event_hash, event_record  # noqa: E402
from apps.audit.chain import LOCK_HEAD_FUNCTION_SQL  # noqa: E402
from apps.audit.models import AuditCheckpoint, AuditEvent  # noqa: E402
from apps.audit.protection import audit_protect_schema  # noqa: E402
from apps.audit.selectors import audit_event_records  # noqa: E402
from apps.audit.services import audit_changes, audit_record  # noqa: E402
from apps.audit.verify import chain_verify  # noqa: E402
from apps.core.context import WorkContext, bind_actor, set_context  # noqa: E402

RESULTS = ROOT / "benches" / "results" / "audit.json"
WRITERS = 8
FORM = {f"field_{i}": "valeur saisie par le citoyen " * 2 for i in range(16)}  # ~1 KB


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def request_context() -> None:
    set_context(
        WorkContext(
            request_id=uuid.uuid4().hex,
            ip="196.168.10.20",
            user_agent="Mozilla/5.0 (Linux; Android 13) GuichetApp/1.4",
        )
    )
    bind_actor(actor_type="user", actor_id=str(uuid.uuid4()), actor_role="citizen")


def sample_values(sequence: int, prev_hash: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "version": 1,
        "agency_schema": "etat_civil",
        "sequence": sequence,
        "prev_hash": prev_hash,
        "occurred_at": timezone.now(),
        "actor_type": "user",
        "actor_id": str(uuid.uuid4()),
        "actor_role": "agent",
        "action": "application.approved",
        "target_type": "application",
        "target_id": str(uuid.uuid4()),
        "changes": {
            "status": {"old": "in_review", "new": "approved"},
            "decided_at": {"old": None, "new": "2026-11-21T10:00:00+00:00"},
            "decision_reason": {"old": "", "new": "Dossier complet, pièces conformes."},
            "version": {"old": 4, "new": 5},
        },
        "outcome": "success",
        "ip": "196.168.10.20",
        "user_agent": "Mozilla/5.0 (Linux; Android 13) GuichetApp/1.4",
        "request_id": uuid.uuid4().hex,
    }


def bench_serialisation(seconds: float) -> dict[str, Any]:
    """Microseconds per event for each step, and the verifier's events per second."""
    values = sample_values(1, "0" * 64)
    record = event_record(values)
    steps = {
        "record (model values -> canonical dict)": lambda: event_record(values),
        "canonical JSON bytes (json.dumps)": lambda: canonical_bytes(record),
        "record + bytes + SHA-256 (what an append pays)": lambda: event_hash(event_record(values)),
    }
    out: dict[str, Any] = {"bytes_per_event": len(canonical_bytes(record))}
    for name, step in steps.items():
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 6:
            for _ in range(500):
                step()
            count += 500
        out[name] = (time.perf_counter() - start) / count * 1e6
    chain, prev = [], "0" * 64
    for sequence in range(1, 10_001):
        rec = event_record(sample_values(sequence, prev))
        rec["hash"] = prev = event_hash(rec)
        chain.append(rec)
    start = time.perf_counter()
    result = chain_verify(chain)
    elapsed = time.perf_counter() - start
    assert result.ok
    out["verifier events/s (in memory)"] = len(chain) / elapsed
    return out


def create_scratch(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    with schema_context(schema):
        with connection.schema_editor() as editor:
            editor.create_model(AuditEvent)
            editor.create_model(AuditCheckpoint)
        with connection.cursor() as cursor:
            audit_protect_schema(cursor, schema)
            cursor.execute(LOCK_HEAD_FUNCTION_SQL)
            cursor.execute(
                """
                CREATE TABLE bench_application (
                    id uuid PRIMARY KEY, status text NOT NULL, reference text,
                    form_data jsonb NOT NULL, version int NOT NULL, updated_at timestamptz);
                CREATE TABLE bench_reference (year int PRIMARY KEY, last int NOT NULL);
                CREATE TABLE bench_history (
                    id uuid PRIMARY KEY, application_id uuid NOT NULL, action text NOT NULL,
                    from_status text, to_status text, actor_id uuid, occurred_at timestamptz);
                CREATE TABLE bench_directory (
                    application_id uuid PRIMARY KEY, status text, updated_at timestamptz);
                CREATE TABLE bench_outbox (
                    id uuid PRIMARY KEY, topic text, payload jsonb, created_at timestamptz);
                INSERT INTO bench_reference VALUES (2026, 0);
                """
            )


def drop_scratch(schema: str) -> None:
    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def writer(schema: str, seconds: float, start_at: float, queue: Any, chained: bool) -> None:
    """One writer process: ``audit_record`` transactions until the deadline.

    ``chained=False`` is the baseline: the same kind of row, one plain INSERT per transaction,
    no chain and no lock.
    """
    connections.close_all()
    request_context()
    latencies: list[float] = []
    with schema_context(schema):
        connection.ensure_connection()
        while time.time() < start_at:
            time.sleep(0.001)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            with transaction.atomic():
                if chained:
                    audit_record(
                        action="application.submitted",
                        target_type="application",
                        target_id=uuid.uuid4(),
                        changes={"status": {"old": "draft", "new": "submitted"}},
                    )
                else:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "INSERT INTO bench_outbox VALUES (%s, 'application.submitted', %s,"
                            " now())",
                            [uuid.uuid4(), '{"status": {"old": "draft", "new": "submitted"}}'],
                        )
            latencies.append(time.perf_counter() - began)
    connections.close_all()
    queue.put(latencies)


def bench_appends(
    schema: str, writers: int, seconds: float, *, chained: bool = True
) -> dict[str, Any]:
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 1.0
    processes = [
        context.Process(target=writer, args=(schema, seconds, start_at, queue, chained))
        for _ in range(writers)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    latencies = [x for r in results for x in r]
    return {
        "writers": writers,
        "chained": chained,
        "events": len(latencies),
        "events_per_second": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def submission(cursor: Any, application_id: uuid.UUID, with_audit: bool) -> tuple[float, float]:
    """One submit-shaped transaction; returns (total seconds, seconds inside audit_record)."""
    began = time.perf_counter()
    audit_seconds = 0.0
    with transaction.atomic():
        cursor.execute(
            "SELECT status, form_data, version FROM bench_application WHERE id = %s FOR UPDATE",
            [application_id],
        )
        status, _form, version = cursor.fetchone()
        cursor.execute(
            "UPDATE bench_reference SET last = last + 1 WHERE year = 2026 RETURNING last"
        )
        reference = f"EC-2026-{cursor.fetchone()[0]:06d}"
        now = timezone.now()
        cursor.execute(
            "UPDATE bench_application SET status = 'submitted', reference = %s, version = %s,"
            " updated_at = %s WHERE id = %s",
            [reference, version + 1, now, application_id],
        )
        cursor.execute(
            "INSERT INTO bench_history VALUES (%s, %s, 'submit', %s, 'submitted', %s, %s)",
            [uuid.uuid4(), application_id, status, uuid.uuid4(), now],
        )
        cursor.execute(
            "INSERT INTO bench_directory VALUES (%s, 'submitted', %s) ON CONFLICT"
            " (application_id) DO UPDATE SET status = excluded.status,"
            " updated_at = excluded.updated_at",
            [application_id, now],
        )
        cursor.execute(
            "INSERT INTO bench_outbox VALUES (%s, 'application.submitted', %s, %s)",
            [uuid.uuid4(), json.dumps({"application_id": str(application_id)}), now],
        )
        if with_audit:
            audit_began = time.perf_counter()
            audit_record(
                action="application.submitted",
                target_type="application",
                target_id=application_id,
                changes=audit_changes(
                    before={"status": status, "reference": None, "version": version},
                    after={"status": "submitted", "reference": reference, "version": version + 1},
                ),
            )
            audit_seconds = time.perf_counter() - audit_began
    return time.perf_counter() - began, audit_seconds


def bench_share(schema: str, rounds: int) -> dict[str, Any]:
    request_context()
    with_audit: list[float] = []
    without_audit: list[float] = []
    inside_audit: list[float] = []
    with schema_context(schema), connection.cursor() as cursor:
        ids = [uuid.uuid4() for _ in range(2 * rounds + 20)]
        for application_id in ids:
            cursor.execute(
                "INSERT INTO bench_application VALUES (%s, 'draft', NULL, %s, 1, now())",
                [application_id, json.dumps(FORM)],
            )
        for index, application_id in enumerate(ids[:20]):  # warm-up
            submission(cursor, application_id, with_audit=index % 2 == 0)
        for index, application_id in enumerate(ids[20:]):
            audited = index % 2 == 0  # alternate, so drift hits both equally
            total, audit_part = submission(cursor, application_id, with_audit=audited)
            if audited:
                with_audit.append(total)
                inside_audit.append(audit_part)
            else:
                without_audit.append(total)
    median_with = statistics.median(with_audit)
    median_without = statistics.median(without_audit)
    return {
        "rounds": rounds,
        "submission_with_audit_ms": median_with * 1000,
        "submission_without_audit_ms": median_without * 1000,
        "audit_record_ms": statistics.median(inside_audit) * 1000,
        "share_by_difference": (median_with - median_without) / median_with,
        "share_inside_audit_record": statistics.median(
            [a / t for a, t in zip(inside_audit, with_audit, strict=True)]
        ),
    }


SUBMIT_FORM_SCHEMA = {
    "type": "object",
    "properties": {f"field_{i}": {"type": "string"} for i in range(16)},
    "required": ["field_0"],
}


def bench_real_submission(rounds: int) -> dict[str, Any] | None:
    """``application_submit`` itself, in a scratch agency, with and without its audit call.

    Needs a migrated database (``manage.py migrate_agencies``); returns None otherwise. The
    scratch agency is dropped afterwards; its creation event stays in the platform trail, which
    is append-only by design.
    """
    from apps.accounts.models import User
    from apps.agencies.models import Agency
    from apps.agencies.services import (
        agency_create,
        applied_migrations,
        expected_migrations,
        template_schema_ensure,
    )
    from apps.applications.services import transitions
    from apps.applications.services.drafts import application_create
    from apps.catalogue.models import Service
    from config.celery import app

    if not expected_migrations() <= applied_migrations("public"):
        return None
    template_schema_ensure()
    app.conf.broker_url = "memory://"  # the follow-up task is really queued, but locally
    slug = f"bench-audit-{os.getpid()}"
    request_context()
    agency = agency_create(slug=slug, name_fr="Banc d'essai", name_en="Bench")
    citizen = User.objects.create_user(email=f"{slug}@example.invalid", password=None)
    real_audit_record = transitions.audit_record
    inside: list[float] = []

    def timed_audit_record(**kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return real_audit_record(**kwargs)
        finally:
            inside.append(time.perf_counter() - began)

    with_audit: list[float] = []
    without_audit: list[float] = []
    try:
        with schema_context(agency.schema_name):
            Service.objects.create(
                code="bench",
                name_fr="Service de test",
                name_en="Bench service",
                category="etat-civil",
                form_schema=SUBMIT_FORM_SCHEMA,
                document_types=[],
                fee_xof=0,
                sla_working_days=5,
                is_published=True,
            )
            drafts = [
                application_create(citizen=citizen, service_code="bench", form_data=FORM)
                for _ in range(2 * rounds + 20)
            ]
            for index, application in enumerate(drafts):
                audited = index % 2 == 0
                transitions.audit_record = (  # type: ignore[assignment]
                    timed_audit_record if audited else (lambda **kwargs: None)
                )
                began = time.perf_counter()
                transitions.application_submit(application_id=application.id, citizen=citizen)
                elapsed = time.perf_counter() - began
                if index >= 20:  # after the warm-up
                    (with_audit if audited else without_audit).append(elapsed)
    finally:
        transitions.audit_record = real_audit_record
        Agency.objects.get(pk=agency.pk).delete(force_drop=True)
        # Raw: the ORM's cascade would look for the citizen's rows in tenant tables from the
        # public schema; the agency (and its rows) is already gone.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM public.accounts_user WHERE id = %s", [citizen.pk])
    median_with = statistics.median(with_audit)
    median_without = statistics.median(without_audit)
    share_inside = statistics.median(
        [a / t for a, t in zip(inside[-len(with_audit) :], with_audit, strict=True)]
    )
    return {
        "rounds": rounds,
        "submission_with_audit_ms": median_with * 1000,
        "submission_without_audit_ms": median_without * 1000,
        "audit_record_ms": statistics.median(inside) * 1000,
        "share_by_difference": (median_with - median_without) / median_with,
        "share_inside_audit_record": share_inside,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (~15 s)")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else 4.0
    rounds = 100 if args.quick else 300

    schema = f"bench_audit_{os.getpid()}"
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "postgres": None,
        }
    }
    results["serialisation_us"] = bench_serialisation(seconds)
    create_scratch(schema)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            results["machine"]["postgres"] = cursor.fetchone()[0]
        results["append_1_writer"] = bench_appends(schema, 1, seconds / 2)
        results["append_8_writers"] = bench_appends(schema, WRITERS, seconds)
        results["plain_insert_8_writers"] = bench_appends(
            schema, WRITERS, seconds / 2, chained=False
        )
        with schema_context(schema):
            verified = chain_verify(audit_event_records(), schema=schema)
            connection.ensure_connection()
        assert verified.ok, verified.first_break
        results["chain_after_appends"] = {"events": verified.checked, "ok": verified.ok}
        results["submission"] = bench_share(schema, rounds)
    finally:
        drop_scratch(schema)
    results["real_submission"] = bench_real_submission(rounds // 3)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
    report(results)


def report(results: dict[str, Any]) -> None:
    ser = results["serialisation_us"]
    print(f"\nPostgreSQL {results['machine']['postgres']}, Python {results['machine']['python']}")
    print("\n| serialisation step | µs per event |\n|---|---:|")
    for name, value in ser.items():
        if name.endswith("(in memory)") or name == "bytes_per_event":
            continue
        print(f"| {name} | {value:.1f} |")
    print(
        f"\ncanonical event: {ser['bytes_per_event']} bytes; verifier: "
        f"{ser['verifier events/s (in memory)']:,.0f} events/s in memory"
    )
    print("\n| appends (own transaction each) | events/s | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    for key in ("append_1_writer", "append_8_writers", "plain_insert_8_writers"):
        r = results[key]
        label = f"{r['writers']} writer(s)" + ("" if r["chained"] else ", plain INSERT, no chain")
        print(
            f"| {label} | {r['events_per_second']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
        )
    chain = results["chain_after_appends"]
    print(f"\nchain after the appends: {chain['events']} events, verified ok={chain['ok']}")
    for key, title in (
        ("submission", "submit-shaped transaction (raw SQL)"),
        ("real_submission", "application_submit (the service, ORM)"),
    ):
        sub = results[key]
        if sub is None:
            print(f"\n{title}: skipped (run `manage.py migrate_agencies` on this database)")
            continue
        print(
            f"\n{title}, median of {sub['rounds']} each: "
            f"{sub['submission_with_audit_ms']:.2f} ms with audit, "
            f"{sub['submission_without_audit_ms']:.2f} ms without; audit_record "
            f"{sub['audit_record_ms']:.2f} ms\nshare: {sub['share_inside_audit_record']:.1%} "
            f"(time inside audit_record), {sub['share_by_difference']:.1%} (difference of "
            "medians)"
        )


if __name__ == "__main__":
    main()
