"""``manage.py hotkeys_copy``: copy a key range between two configured hot-key stores.

Both backends share one key layout and one value encoding, so values are copied byte for
byte, expiry headers included: a one-time code that expires in 40 seconds in LMDB still
expires at the same instant in FoundationDB. Values already expired are skipped.

Typical use, moving from the embedded store to a cluster::

    manage.py hotkeys_copy --from default --to fdb --prefix-schema agency_a

The copy is page by page, not one snapshot: run it while writes are stopped (or accept
that keys changed during the copy may be copied in either state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.hotkeys.base import HotKeyStore, StoreUnavailable, decode_value, is_expired
from apps.hotkeys.keys import hot_prefix
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CopyResult:
    """What a copy did: values written to the target and expired values left behind."""

    copied: int
    skipped_expired: int


def copy_keys(
    source: HotKeyStore,
    target: HotKeyStore,
    *,
    prefix: bytes | None = None,
    batch: int = 500,
) -> CopyResult:
    """Copy live values under ``prefix`` (``None`` = everything) from ``source`` to ``target``.

    Existing target values under the same keys are overwritten; other target keys are left
    alone. Each page is written in one target transaction.
    """
    copied = 0
    skipped = 0
    for page in source.iter_raw(prefix, batch=batch):
        now_ms = source.now_ms()
        live = []
        for key, raw in page:
            expires_at_ms, _ = decode_value(raw)
            if is_expired(expires_at_ms, now_ms):
                skipped += 1
            else:
                live.append((key, raw))
        if live:
            copied += target.put_raw(live)
    return CopyResult(copied=copied, skipped_expired=skipped)


def prefix_for(schema: str | None, namespace: str | None) -> bytes | None:
    """The key prefix selected by ``--prefix-schema`` and ``--namespace``."""
    if schema is None:
        if namespace is not None:
            raise CommandError("--namespace needs --prefix-schema")
        return None
    return hot_prefix(schema, namespace)


class Command(BaseCommand):
    """Copy hot keys (values and expiry) from one HOTKEYS alias to another."""

    help = "Copy a key range, values and expiry headers intact, between two hot-key stores."
    requires_system_checks: list[str] = []  # no database needed
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the source and target aliases and the optional key range."""
        parser.add_argument("--from", dest="source", required=True, help="source alias")
        parser.add_argument("--to", dest="target", required=True, help="target alias")
        parser.add_argument("--prefix-schema", dest="schema", help="only this tenant schema")
        parser.add_argument("--namespace", help="only this namespace (needs --prefix-schema)")
        parser.add_argument("--batch", type=int, default=500, help="keys per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the copy and print the counts."""
        if options["source"] == options["target"]:
            raise CommandError("--from and --to must name different stores")
        if options["batch"] < 1:
            raise CommandError("--batch must be >= 1")
        prefix = prefix_for(options["schema"], options["namespace"])
        try:
            result = copy_keys(
                get_store(options["source"]),
                get_store(options["target"]),
                prefix=prefix,
                batch=options["batch"],
            )
        except (ImproperlyConfigured, StoreUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        logger.info(
            "hotkeys_copied",
            source=options["source"],
            target=options["target"],
            copied=result.copied,
            skipped_expired=result.skipped_expired,
        )
        self.stdout.write(
            f"copied {result.copied} values, skipped {result.skipped_expired} expired "
            f"({options['source']} -> {options['target']})"
        )
