"""``manage.py audit_verify [--agency SLUG]``: verify the audit chains, report the first break."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.selectors import audit_schemas
from apps.audit.verification import audit_chain_check
from apps.core.context import set_context, system_context


class Command(BaseCommand):
    help = (
        "Verify the hash chain of the platform trail and of every agency (or only --agency "
        "SLUG, repeatable; 'public' names the platform trail) against their signed checkpoints. "
        "Prints one line per schema and exits non-zero if any chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--agency", action="append", dest="slugs", metavar="SLUG", help="Only this agency."
        )
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="Do not record the result as an audit event in each chain.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("audit_verify"))
        try:
            schemas = audit_schemas(slugs=options["slugs"])
        except LookupError as exc:
            raise CommandError(f"No agency with slug {exc.args[0]!r}.") from exc
        broken: list[str] = []
        for schema in schemas:
            started = time.perf_counter()
            result = audit_chain_check(schema=schema, record=not options["no_record"])
            seconds = time.perf_counter() - started
            if result.first_break is None:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{schema}: OK, {result.checked} events, last sequence "
                        f"{result.last_sequence}, {result.anchors_checked} checkpoints "
                        f"({seconds:.2f}s)"
                    )
                )
                continue
            broken.append(schema)
            first = result.first_break
            self.stdout.write(
                self.style.ERROR(
                    f"{schema}: BROKEN at sequence {first.sequence}: {first.reason} "
                    f"({first.detail}); {result.checked} events verified before it"
                )
            )
        if broken:
            raise CommandError(f"Broken audit chain(s): {', '.join(broken)}.")
        self.stdout.write(f"{len(schemas)} chain(s) verified.")
