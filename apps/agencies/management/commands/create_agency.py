"""``manage.py create_agency SLUG``: create an agency by cloning the template schema."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agencies.services import agency_create
from apps.core.context import set_context, system_context
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an agency (tenant) by cloning the migrated template schema."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name-fr", required=True)
        parser.add_argument("--name-en", required=True)
        parser.add_argument("--domain", help="Host name (default: <slug>.<GUICHET_BASE_DOMAIN>).")
        parser.add_argument("--contact-email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("create_agency"))
        started = time.perf_counter()
        try:
            agency = agency_create(
                slug=options["slug"],
                name_fr=options["name_fr"],
                name_en=options["name_en"],
                contact_email=options["contact_email"],
                domain=options["domain"],
            )
        except ApplicationError as exc:
            details = f" {exc.errors}" if exc.errors else ""
            raise CommandError(f"{exc.detail}{details}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Agency {agency.slug} created (schema {agency.schema_name}) "
                f"in {time.perf_counter() - started:.2f}s."
            )
        )
