"""Certificates: time from approval to the stored, signed PDF; verification throughput.

Run: ``.venv/bin/python benches/bench_certificates.py`` (about 45 s; ``--quick`` for ~30 s).

A throwaway test database is created (the project's test settings, ``DATABASE_URL`` with a
``test_`` prefix) with one agency cloned from the template, a published service, an agent and
``--approvals`` citizens with a submitted application each.

1. **Approval to stored PDF**, two ways:

   * *job*: the agent approves (the transition writes the outbox row in its transaction), then
     the document job runs in this process exactly as the worker runs it
     (``outbox_process``): resolve the document definition, draw the A4 PDF (ReportLab, vector
     QR code), sign the QR payload and the PDF (PAdES, pyHanko), SHA-256, storage, the
     certificate row and its follow-up outbox rows. Timed from the approval call
     to the committed certificate row, with the job's own share;
   * *end to end*: a real Celery worker thread on the configured broker (``CELERY_BROKER_URL``,
     or Celery's filesystem transport), the approval committed, the after-commit relay
     publishing the job, the worker running it; timed from the approval call until the
     certificate row is visible (polled every 5 ms).

2. **Verification throughput**: ``GET /api/v1/verify/{code}/`` (known and unknown codes) and
   the HTML page ``GET /verify/{code}/``, next to a bare Django view (``JsonResponse``) routed
   on the same agency host, through the same middleware stack, in the same run, in-process with
   Django's test client, one client, turns in short slices. Throttling stays on (hot-key store);
   each request comes from another source address so the per-address rate never triggers.
   Goal: verification ≥ 0.5× the bare view.

Results: a Markdown table on stdout and ``benches/results/certificates.json`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from celery.contrib.testing.worker import start_worker  # noqa: E402
from celery.signals import task_postrun  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.urls import path  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.accounts.models import Role, User  # noqa: E402
from apps.accounts.services import membership_grant  # noqa: E402
from apps.agencies.services import agency_create  # noqa: E402
from apps.applications import services as application_services  # noqa: E402
from apps.applications.models import Application  # noqa: E402
from apps.catalogue.models import Service  # noqa: E402
from apps.certificates.codes import code_new  # noqa: E402
from apps.certificates.models import Certificate  # noqa: E402
from apps.certificates.services import certificate_job_enqueue  # noqa: E402
from apps.outbox.models import OutboxMessage  # noqa: E402
from apps.outbox.services import outbox_process  # noqa: E402
from config import urls_tenant  # noqa: E402
from config.celery import app  # noqa: E402

RESULTS = ROOT / "benches" / "results" / "certificates.json"
SLUG, HOST, SCHEMA = "bench-cert", "bench-cert.localhost", "bench_cert"
GOAL_RATIO = 0.5


def bare_view(request: HttpRequest) -> JsonResponse:
    """The floor: routing and middleware, no DRF, no database."""
    return JsonResponse({"ok": True})


BENCH_URLS = types.ModuleType("bench_certificates_urls")
# After the platform's own routes: the bare view pays the same URL resolution as the others.
BENCH_URLS.urlpatterns = [  # type: ignore[attr-defined]
    *urls_tenant.urlpatterns,
    path("bench/bare/", bare_view),
]


def _populate(count: int) -> tuple[User, list[Application]]:
    """The agency, its service, an agent and ``count`` submitted applications."""
    agency = agency_create(slug=SLUG, name_fr="Agence banc", name_en="Bench agency", domain=HOST)
    agent = User.objects.create_user(email="bench-agent@example.tg", first_name="Kodjo")
    membership_grant(user=agent, agency=agency, role=Role.AGENT)
    submitted = []
    with schema_context(SCHEMA):
        Service.objects.create(
            code="casier",
            name_fr="Extrait de casier judiciaire",
            name_en="Criminal record extract",
            category="justice",
            form_schema={"type": "object", "properties": {"nom": {"type": "string"}}},
            sla_working_days=5,
            is_published=True,
        )
        for n in range(count):
            citizen = User.objects.create_user(
                email=f"bench-citoyen-{n}@example.tg", first_name="Afi", last_name=f"Mensah {n}"
            )
            draft = application_services.application_create(
                citizen=citizen, service_code="casier", form_data={"nom": "Mensah"}
            )
            application = application_services.application_submit(
                application_id=draft.id, citizen=citizen
            )
            submitted.append(
                application_services.application_transition(
                    application_id=application.id,
                    action="take",
                    actor=agent,
                    role=Role.AGENT,
                    if_match=application.etag,
                )
            )
    return agent, submitted


def _approve(agent: User, application: Application) -> None:
    current = Application.objects.get(pk=application.pk)
    application_services.application_transition(
        application_id=application.pk,
        action="approve",
        actor=agent,
        role=Role.AGENT,
        if_match=current.etag,
    )
    # Until the transition queues the document job itself (it does once notifications are
    # wired in), queue it the same way; deduplicated, so harmless when it already did.
    certificate_job_enqueue(application_id=application.pk)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        "max_ms": round(ordered[-1], 1),
    }


def bench_job(agent: User, applications: list[Application]) -> dict[str, Any]:
    """Approval, then the document job in-process, as the worker runs it."""
    totals, jobs = [], []
    with schema_context(SCHEMA):
        for application in applications:
            started = time.perf_counter()
            _approve(agent, application)
            job = OutboxMessage.objects.get(
                kind="document", payload__application_id=str(application.pk)
            )
            job_started = time.perf_counter()
            outcome = outbox_process(message_id=job.pk)
            assert outcome.status == "sent", outcome
            assert Certificate.objects.filter(application_id=application.pk).exists()
            done = time.perf_counter()
            totals.append((done - started) * 1000)
            jobs.append((done - job_started) * 1000)
    return {"approval_to_pdf": _percentiles(totals), "job_only": _percentiles(jobs)}


def _close_worker_connections(**kwargs: Any) -> None:
    connections.close_all()


def bench_end_to_end(agent: User, applications: list[Application]) -> dict[str, Any]:
    """Approval committed, relay after commit, broker, worker thread, stored PDF."""
    samples = []
    task_postrun.connect(_close_worker_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            for index, application in enumerate(applications):
                with schema_context(SCHEMA):
                    started = time.perf_counter()
                    _approve(agent, application)
                    deadline = started + 30
                    while not Certificate.objects.filter(application_id=application.pk).exists():
                        if time.perf_counter() > deadline:
                            raise RuntimeError("the worker did not issue the certificate in 30 s")
                        time.sleep(0.005)
                    if index:  # the first one warms the worker up (connections, imports)
                        samples.append((time.perf_counter() - started) * 1000)
    finally:
        task_postrun.disconnect(_close_worker_connections)
    return {"approval_to_pdf": _percentiles(samples), "broker": app.conf.broker_url.split(":")[0]}


def _slice(client: Client, url: str, seconds: float, expect: int, counter: list[int]) -> int:
    """Requests to ``url`` during ``seconds`` (each from another source address)."""
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        counter[0] += 1
        n = counter[0]
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        response = client.get(url, REMOTE_ADDR=address)
        if response.status_code != expect:
            raise RuntimeError(f"{url} answered {response.status_code}, not {expect}")
        done += 1
    return done


def bench_verification(code: str, seconds: float, rounds: int) -> dict[str, Any]:
    """Requests per second of the verification endpoints next to the bare view.

    The machine is shared, so its load moves during a run: the targets take turns in short
    slices (0.2 s), ``rounds`` groups of them, and each target's rate is its total requests
    over its total time. A load change hits every target alike.
    """
    targets = {
        "bare Django view": ("/bench/bare/", 200),
        "GET /api/v1/verify/{code}/ (known)": (f"/api/v1/verify/{code}/", 200),
        "GET /api/v1/verify/{code}/ (unknown)": (f"/api/v1/verify/{code_new()}/", 404),
        "GET /verify/{code}/ (HTML page)": (f"/verify/{code}/", 200),
    }
    slice_seconds = 0.2
    slices = max(1, int(seconds / slice_seconds))
    counter = [0]
    per_round: dict[str, list[float]] = {name: [] for name in targets}
    with override_settings(ROOT_URLCONF=BENCH_URLS):
        client = Client(HTTP_HOST=HOST)
        for url, expect in targets.values():  # warm-up: connections, caches, catalogues
            _slice(client, url, 0.3, expect, counter)
        for _ in range(rounds):
            counts = dict.fromkeys(targets, 0)
            for _ in range(slices):
                for name, (url, expect) in targets.items():
                    counts[name] += _slice(client, url, slice_seconds, expect, counter)
            for name in targets:
                per_round[name].append(counts[name] / (slices * slice_seconds))
    bare = sum(per_round["bare Django view"])
    return {
        name: {
            "requests_per_second": round(sum(values) / len(values), 1),
            "rounds": [round(v, 1) for v in values],
            "ratio_to_bare": round(sum(values) / bare, 2),
        }
        for name, values in per_round.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approvals", type=int, default=6, help="applications approved per mode")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="per target and throughput round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds")
    parser.add_argument("--quick", action="store_true", help="fewer approvals, shorter rounds")
    args = parser.parse_args()
    if args.quick:
        args.approvals, args.seconds, args.rounds = 4, 1.0, 2

    setup_test_environment(debug=False)
    started = time.perf_counter()
    databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    media = tempfile.TemporaryDirectory(prefix="bench-certificates-")
    try:
        with override_settings(MEDIA_ROOT=media.name, SMS_FILE_DIR=Path(media.name) / "sms"):
            connection.set_schema_to_public()
            agent, applications = _populate(args.approvals * 2 + 1)  # +1: worker warm-up
            setup_seconds = time.perf_counter() - started
            job = bench_job(agent, applications[: args.approvals])
            end_to_end = bench_end_to_end(agent, applications[args.approvals :])
            with schema_context(SCHEMA):
                code = Certificate.objects.values_list("code", flat=True).first()
            verification = bench_verification(code, args.seconds, args.rounds)
        thread_count = threading.active_count()
    finally:
        connection.set_schema_to_public()
        connections.close_all()
        teardown_databases(databases, verbosity=0)
        media.cleanup()

    print(f"\nsetup {setup_seconds:.1f} s; {args.approvals} approvals per mode\n")
    print("| approval → stored PDF | n | median ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    rows = (
        ("job in-process (approve + outbox_process)", job["approval_to_pdf"]),
        ("  of which the document job", job["job_only"]),
        (f"end to end, worker thread ({end_to_end['broker']})", end_to_end["approval_to_pdf"]),
    )
    for label, cell in rows:
        print(
            f"| {label} | {cell['n']} | {cell['median_ms']} | {cell['p95_ms']} | {cell['max_ms']} |"
        )
    print("\n| endpoint (in-process, test client) | requests/s (median) | rounds | × bare view |")
    print("|---|---:|---|---:|")
    for name, cell in verification.items():
        rounds_text = ", ".join(f"{v:,.0f}" for v in cell["rounds"])
        print(
            f"| {name} | {cell['requests_per_second']:,.0f} | {rounds_text} "
            f"| {cell['ratio_to_bare']} |"
        )
    ratio = verification["GET /api/v1/verify/{code}/ (known)"]["ratio_to_bare"]
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(f"\ngoal: verification ≥ {GOAL_RATIO}× the bare view: {verdict} ({ratio}×)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "approvals": args.approvals,
                "job": job,
                "end_to_end": end_to_end,
                "verification": verification,
                "goal_ratio": GOAL_RATIO,
                "goal_met": ratio >= GOAL_RATIO,
                "python": platform.python_version(),
                "machine": platform.platform(),
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "threads_at_end": thread_count,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
