"""``manage.py hotkeys_purge``: delete expired values from a hot-key store now."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.hotkeys.base import StoreUnavailable
from apps.hotkeys.registry import DEFAULT_ALIAS, get_store


class Command(BaseCommand):
    """Purge expired hot-key values (the periodic task does the same)."""

    help = "Delete expired values from a hot-key store."
    requires_system_checks: list[str] = []  # no database needed
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare ``--alias`` and ``--batch``."""
        parser.add_argument("--alias", default=DEFAULT_ALIAS, help="HOTKEYS alias")
        parser.add_argument("--batch", type=int, default=1000, help="keys scanned per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the purge and print the number of deleted values."""
        if options["batch"] < 1:
            raise CommandError("--batch must be >= 1")
        try:
            deleted = get_store(options["alias"]).purge_expired(batch=options["batch"])
        except (ImproperlyConfigured, StoreUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"purged {deleted} expired values from {options['alias']}")
