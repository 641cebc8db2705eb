"""``manage.py agency_restore FILE``: restore one agency from an ``agency_dump`` backup."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agencies.backup import BackupError, agency_restore
from apps.audit.services import audit_record
from apps.core.context import set_context, system_context
from apps.core.tenancy import activate_public


class Command(BaseCommand):
    help = (
        "Restore an agency from a backup made by agency_dump into this platform, which must "
        "not hold it and must be at the backup's release (run migrate_agencies on an empty "
        "database first). Runs as the database owner: it creates the agency's schema."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("agency_restore"))
        started = time.perf_counter()
        try:
            summary = agency_restore(path=options["file"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        activate_public()
        audit_record(
            action="agency.restored",
            target_type="agency",
            target_id=summary.slug,
            changes={"schema": {"old": None, "new": summary.schema}},
            platform=True,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.schema}: restored ({sum(summary.tables.values())} public rows, "
                f"{summary.files_written} files written, {summary.files_present} already there) "
                f"in {time.perf_counter() - started:.1f}s. Next: migrate_agencies, then "
                f"audit_verify --agency {summary.slug}."
            )
        )
