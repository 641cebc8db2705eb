"""``manage.py audit_checkpoint [--agency SLUG]``: sign the head of the audit chains."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from apps.audit.checkpoints import audit_checkpoint_create
from apps.audit.selectors import audit_schemas
from apps.core.context import set_context, system_context


class Command(BaseCommand):
    help = (
        "Sign the last sequence number and hash of the platform trail and of every agency (or "
        "only --agency SLUG, repeatable) with the schema's Ed25519 key. A chain with nothing "
        "new since its last checkpoint is left as it is unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--agency", action="append", dest="slugs", metavar="SLUG", help="Only this agency."
        )
        parser.add_argument(
            "--force", action="store_true", help="Sign even when nothing happened since."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("audit_checkpoint"))
        try:
            schemas = audit_schemas(slugs=options["slugs"])
        except LookupError as exc:
            raise CommandError(f"No agency with slug {exc.args[0]!r}.") from exc
        for schema in schemas:
            with schema_context(schema):
                outcome = audit_checkpoint_create(force=options["force"])
            checkpoint = outcome.checkpoint
            state = "signed" if outcome.created else "unchanged since"
            self.stdout.write(
                f"{schema}: {state} sequence {checkpoint.sequence} "
                f"(hash {checkpoint.hash[:16]}…, key {checkpoint.key_id})"
            )
