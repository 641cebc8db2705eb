"""The producer side of the Celery benchmark (bench environment, Django set up).

``python -m benches.harness.celery_load --noop N --notifications M``. Prints JSON.

* no-op jobs: N ``bench.noop`` tasks sent one by one from the public schema; the clock runs
  from the first send until the worker has counted all N;
* notification jobs: M notifications (``application_submitted``) queued through
  ``notification_enqueue`` in one transaction in an agency, each to a citizen with a phone and
  an e-mail address, so 2 × M outbox messages; after commit the outbox kicks one
  ``outbox.deliver`` task per message and the worker renders and sends each (SMS file gateway,
  e-mail file backend). The clock runs from the transaction's start until every message is
  ``sent``.
* certificate jobs: approved applications of the demo birth-certificate-copy service (its
  document definition and a seal, as ``seed_demo`` makes them) get their document job
  (``certificate_job_enqueue``) committed; the worker draws the A4 PDF, signs the QR payload
  and the PDF (PAdES), stores it and records the certificate. *Latency*: one at a time, from
  the commit until the certificate row is visible (polled every 5 ms), p95 over ``C`` jobs;
  *throughput*: ``C`` jobs committed at once, certificates per second until the last is in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.applications.models import Application  # noqa: E402
from apps.core.context import set_context, system_context  # noqa: E402
from apps.hotkeys.base import unpack_counter  # noqa: E402
from apps.hotkeys.registry import get_store  # noqa: E402
from apps.notifications.rendering import Template  # noqa: E402
from apps.notifications.services import notification_enqueue  # noqa: E402
from apps.outbox.models import OutboxMessage  # noqa: E402
from benches.harness.tasks import bench_noop, counter_key  # noqa: E402

AGENCY_SCHEMA = "bench_lists"


def log(message: str) -> None:
    print(f"[bench celery] {message}", file=sys.stderr, flush=True)


def _count(run: str) -> int:
    raw = get_store().get(counter_key(run))
    return unpack_counter(raw) if raw else 0


def noop_jobs(count: int, timeout: float) -> dict[str, Any]:
    """Send ``count`` no-op jobs; seconds until all ran."""
    run = uuid.uuid4().hex
    started = time.perf_counter()
    for _ in range(count):
        bench_noop.delay(run=run)
    sent = time.perf_counter() - started
    while _count(run) < count:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {_count(run)} of {count} no-op jobs ran in {timeout} s")
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    return {
        "label": "no-op (bench.noop)",
        "jobs": count,
        "seconds": round(seconds, 3),
        "send_seconds": round(sent, 3),
        "per_second": round(count / seconds, 1),
    }


def notification_jobs(count: int, timeout: float) -> dict[str, Any]:
    """Queue ``count`` notifications (2 messages each); seconds until every message is sent."""
    with schema_context(AGENCY_SCHEMA):
        application = Application.objects.exclude(status="draft").select_related("citizen").first()
        if application is None:
            raise RuntimeError("no application to notify about: run the seed first")
        started = time.perf_counter()
        with transaction.atomic():
            ids = [
                message.pk
                for _ in range(count)
                for message in notification_enqueue(
                    recipient_id=application.citizen_id,
                    template=Template.APPLICATION_SUBMITTED,
                    application_id=application.id,
                )
            ]
        queued = time.perf_counter() - started
        while True:
            done = OutboxMessage.objects.filter(pk__in=ids, status="sent").count()
            if done >= len(ids):
                break
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"only {done} of {len(ids)} notifications sent in {timeout} s")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        OutboxMessage.objects.filter(pk__in=ids).delete()
    return {
        "label": "notification messages (outbox → SMS / e-mail, rendered)",
        "jobs": len(ids),
        "notifications": count,
        "seconds": round(seconds, 3),
        "enqueue_seconds": round(queued, 3),
        "per_second": round(len(ids) / seconds, 1),
    }


CERT_SERVICE = "copie-acte-naissance"


def _birth_service() -> Any:
    """The demo birth-certificate-copy service with its definition and a seal (idempotent)."""
    from apps.catalogue import services as catalogue
    from apps.catalogue.demo import BIRTH_CERTIFICATE_COPY, DEMO_DOCUMENTS
    from apps.catalogue.models import Service
    from apps.certificates.branding import document_settings_save
    from apps.certificates.demo import demo_seal

    service = Service.objects.filter(code=CERT_SERVICE).first()
    if service is None:
        service = catalogue.service_create(**BIRTH_CERTIFICATE_COPY, is_published=True)
    catalogue.document_definition_save(service=service, definition=DEMO_DOCUMENTS[CERT_SERVICE])
    document_settings_save(
        changes={"signatory_name": "Komlan AGBODJAN", "signatory_title_fr": "L'Officier"},
        seal=demo_seal(),
    )
    return service


def _approved(service: Any, citizen_id: Any, run: str, count: int) -> list[Any]:
    from django.utils import timezone

    from apps.applications.demo import sample_value

    now = timezone.now()
    answers = {**sample_value(service.form_schema), "lien_demandeur": "mere"}
    return [
        Application.objects.create(
            service=service,
            citizen_id=citizen_id,
            status="approved",
            reference=f"B{run[:8]}{n:05d}",
            form_data=answers,
            submitted_at=now,
            decided_at=now,
        ).pk
        for n in range(count)
    ]


def _wait_certificates(ids: list[Any], started: float, timeout: float) -> list[float]:
    """Seconds from ``started`` at which each application's certificate became visible."""
    from apps.certificates.models import Certificate

    seen: dict[Any, float] = {}
    while len(seen) < len(ids):
        found = Certificate.objects.filter(application_id__in=ids).values_list(
            "application_id", flat=True
        )
        now = time.perf_counter() - started
        for application_id in found:
            seen.setdefault(application_id, now)
        if now > timeout:
            raise RuntimeError(f"only {len(seen)} of {len(ids)} certificates in {timeout} s")
        if len(seen) < len(ids):
            time.sleep(0.005)
    return list(seen.values())


def certificate_jobs(count: int, timeout: float) -> dict[str, Any]:
    """Issue ``count`` certificates one at a time (latency), then ``count`` at once (rate)."""
    from apps.certificates.models import Certificate
    from apps.certificates.services import certificate_job_enqueue

    run = uuid.uuid4().hex
    with schema_context(AGENCY_SCHEMA):
        citizen_id = (
            Application.objects.exclude(status="draft").values_list("citizen_id", flat=True).first()
        )
        with transaction.atomic():
            service = _birth_service()
            single = _approved(service, citizen_id, run, count + 1)
            batch = _approved(service, citizen_id, run[::-1], count)
        latencies = []
        for index, application_id in enumerate(single):
            started = time.perf_counter()
            with transaction.atomic():
                certificate_job_enqueue(application_id=application_id)
            [seconds] = _wait_certificates([application_id], started, timeout)
            if index:  # the first one warms the worker's processes up (imports, keys, fonts)
                latencies.append(seconds * 1000)
        started = time.perf_counter()
        with transaction.atomic():
            for application_id in batch:
                certificate_job_enqueue(application_id=application_id)
        seconds = max(_wait_certificates(batch, started, timeout))
        sizes = [
            len(certificate.content.get("blocks", []))
            for certificate in Certificate.objects.filter(application_id__in=batch[:1])
        ]
    ordered = sorted(latencies)
    return {
        "label": "certificates (render A4 + QR, sign QR + PAdES, store, record)",
        "jobs": count,
        "seconds": round(seconds, 3),
        "per_second": round(count / seconds, 2),
        "latency_ms": {
            "n": len(ordered),
            "median": round(ordered[len(ordered) // 2], 1),
            "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
            "max": round(ordered[-1], 1),
        },
        "definition_blocks": sizes[0] if sizes else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noop", type=int, default=2000)
    parser.add_argument("--notifications", type=int, default=300)
    parser.add_argument("--certificates", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    set_context(system_context("bench.celery"))
    connection.set_schema_to_public()
    log("waiting for the worker (warm-up jobs)")
    noop_jobs(20, timeout=180.0)
    out: dict[str, Any] = {}
    log(f"{args.noop} no-op jobs")
    out["noop"] = noop_jobs(args.noop, args.timeout)
    log(f"{args.notifications} notifications")
    out["notification"] = notification_jobs(args.notifications, args.timeout)
    if args.certificates:
        log(f"{args.certificates} certificates, one at a time then at once")
        out["certificate"] = certificate_jobs(args.certificates, args.timeout)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
