"""``manage.py certificates_sweep_orphans``: delete certificate files that no certificate names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import schema_context

from apps.agencies.selectors import agency_list
from apps.certificates.services import certificate_orphans_sweep
from apps.core.context import set_context, system_context


class Command(BaseCommand):
    help = (
        "Delete, in every agency, the certificate files that no certificate names (left by a "
        "document job interrupted between writing the file and recording it), older than "
        "--grace-seconds (default CERTIFICATES_ORPHAN_GRACE_SECONDS). Each deletion is audited "
        "in the agency's trail. --dry-run only lists them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--grace-seconds", type=float, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("certificates_sweep_orphans"))
        grace = options["grace_seconds"]
        if grace is None:
            grace = float(settings.CERTIFICATES_ORPHAN_GRACE_SECONDS)
        total = 0
        for schema in agency_list(include_inactive=True).values_list("schema_name", flat=True):
            with schema_context(schema):
                names = certificate_orphans_sweep(
                    older_than=timedelta(seconds=grace), dry_run=options["dry_run"]
                )
            total += len(names)
            verb = "would delete" if options["dry_run"] else "deleted"
            self.stdout.write(f"{schema}: {verb} {len(names)} orphan file(s)")
            for name in names:
                self.stdout.write(f"  {name}")
        self.stdout.write(self.style.SUCCESS(f"{total} orphan file(s)"))
