"""``manage.py agency_dump SLUG FILE``: back up one agency (schema, public rows, files)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agencies.backup import BackupError, agency_dump
from apps.core.context import set_context, system_context


class Command(BaseCommand):
    help = (
        "Write one agency's backup to FILE: its schema (pg_dump), its rows in the public schema "
        "and its stored files. The file holds personal data: keep it encrypted "
        "(docs/operations.md, 'Backup and restore')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("agency_dump"))
        started = time.perf_counter()
        try:
            summary = agency_dump(slug=options["slug"], path=options["file"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(summary.tables.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.schema}: {rows} public rows in {len(summary.tables)} tables, "
                f"{summary.files} files, {summary.bytes} bytes -> {summary.path} "
                f"({time.perf_counter() - started:.1f}s)"
            )
        )
