"""``manage.py audit_seal [--loop] [--interval S]``: seal waiting audit events into the log.

Without ``--loop``: one pass over every schema (public first, then each agency). With
``--loop``: a dedicated sealing process that polls every schema (one query for all of them)
every ``--interval`` seconds and seals those with events waiting, sending each new tree head
to the witness when ``AUDIT_WITNESS_URL`` is set. Stops on SIGTERM / Ctrl-C between passes.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django_tenants.utils import schema_context

from apps.audit.sealing import audit_seal, schemas_with_unsealed
from apps.audit.selectors import audit_schemas
from apps.audit.witness import audit_witness_submit
from apps.core.context import set_context, system_context

SCHEMA_REFRESH_SECONDS = 30.0


class Command(BaseCommand):
    help = "Seal the audit events waiting for their place (once, or in a loop with --loop)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep sealing until stopped.")
        parser.add_argument(
            "--interval", type=float, default=0.2, help="Seconds between polls (--loop)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("audit.seal"))
        if not options["loop"]:
            for schema in audit_schemas():
                sealed = self._seal(schema)
                self.stdout.write(f"{schema}: {sealed} sealed")
            return
        stopping = {"now": False}

        def stop(*_: Any) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        schemas: list[str] = []
        refreshed = 0.0
        while not stopping["now"]:
            if time.monotonic() - refreshed > SCHEMA_REFRESH_SECONDS:
                schemas, refreshed = audit_schemas(), time.monotonic()
            connection.set_schema_to_public()  # type: ignore[attr-defined]
            for schema in schemas_with_unsealed(schemas):
                self._seal(schema)
            time.sleep(options["interval"])

    def _seal(self, schema: str) -> int:
        total = 0
        with schema_context(schema):
            while True:
                outcome = audit_seal()
                total += outcome.sealed
                if outcome.head is not None:
                    audit_witness_submit(outcome.head)
                if outcome.sealed < 5000:
                    return total
