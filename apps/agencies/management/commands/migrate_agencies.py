"""``manage.py migrate_agencies``: migrate the public schema, the template and every agency."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agencies.services import MigrationProgress, agencies_migrate
from apps.core.context import set_context, system_context


class Command(BaseCommand):
    help = (
        "Migrate the public schema, the agency template and every agency, one schema at a "
        "time with progress. Up-to-date schemas are skipped, so a rerun resumes after a failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schema", action="append", dest="schemas", help="Only these schemas (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("migrate_agencies"))

        def report(progress: MigrationProgress) -> None:
            width = len(str(progress.total))
            line = (
                f"[{progress.index:>{width}}/{progress.total}] {progress.schema}: "
                f"{progress.state} ({progress.seconds:.2f}s)"
            )
            style = self.style.ERROR if progress.state == "failed" else self.style.SUCCESS
            self.stdout.write(style(line) if progress.state != "up to date" else line)

        try:
            results = agencies_migrate(report=report, schemas=options.get("schemas"))
        except Exception as exc:
            raise CommandError(
                f"Migration failed ({type(exc).__name__}: {exc}). Fix it and run the command "
                "again: schemas already up to date are skipped."
            ) from exc
        migrated = sum(1 for r in results if r.state == "migrated")
        self.stdout.write(f"{len(results)} schemas checked, {migrated} migrated.")
