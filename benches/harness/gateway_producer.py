"""Producer of the gateway bench: real-time events at a fixed rate, through the real path.

Each event is an outbox message written in its own transaction (``realtime_application_event``,
as a transition writes it), delivered after the commit in this process (the outbox handler:
event row under the log lock, NOTIFY or channel-layer wake-up). ``occurred_at`` is the moment
just before the commit, so a client's ``now - occurred_at`` is the commit-to-client latency.

``python -m benches.harness.gateway_producer --schema S --rate 100 --duration 20
--citizens ids.json`` prints ``{"produced": n, "seconds": s}``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from types import SimpleNamespace

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.realtime.services import realtime_application_event  # noqa: E402

SERVICE = SimpleNamespace(code="bench-temps-reel", name_fr="Banc temps réel", name_en="Bench")
ACTIONS = ("application.submitted", "application.taken", "application.approved")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schema", required=True)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--citizens", required=True, help="JSON file: a list of citizen ids")
    args = parser.parse_args()
    citizens = json.loads(open(args.citizens).read())  # noqa: SIM115
    interval = 1.0 / args.rate
    produced = 0
    started = time.monotonic()
    with schema_context(args.schema):
        while True:
            due = started + produced * interval
            now = time.monotonic()
            if due - started >= args.duration:
                break
            if due > now:
                time.sleep(due - now)
            with transaction.atomic():
                application = SimpleNamespace(
                    pk=uuid.uuid4(),
                    citizen_id=random.choice(citizens),
                    assignee_id=None,
                    reference=f"BENCH-{produced:06d}",
                    status="submitted",
                    service=SERVICE,
                    updated_at=timezone.now(),
                )
                # occurred_at = updated_at: taken here, the commit follows at once.
                realtime_application_event(
                    application=application, event=ACTIONS[produced % len(ACTIONS)]
                )
            produced += 1
    print(json.dumps({"produced": produced, "seconds": round(time.monotonic() - started, 2)}))


if __name__ == "__main__":
    main()
