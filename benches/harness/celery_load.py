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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noop", type=int, default=2000)
    parser.add_argument("--notifications", type=int, default=300)
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
    print(json.dumps(out))


if __name__ == "__main__":
    main()
