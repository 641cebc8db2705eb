"""``manage.py certificates_resign --kid KID``: sign again what a compromised key signed.

After ``keys_rotate --kind certificates --revoke KID`` (docs/keys.md), every certificate of the
key's agency signed by ``KID`` is drawn again from its stored content and signed with the
agency's active key; the stored PDF is replaced. ``--dry-run`` only counts them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from apps.accounts.models import SigningKey
from apps.certificates.models import Certificate
from apps.certificates.services import certificate_resign
from apps.core.context import set_context, system_context


class Command(BaseCommand):
    """Re-sign the certificates of one (revoked) key."""

    help = "Sign again, with the agency's active key, every certificate signed by KID."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--kid`` and ``--dry-run``."""
        parser.add_argument("--kid", required=True)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        """Re-sign one certificate at a time (each in its own transaction)."""
        key = SigningKey.objects.filter(kid=options["kid"], kind="certificates").first()
        if key is None:
            raise CommandError(f"no certificate key {options['kid']!r}")
        set_context(system_context("certificates_resign"))
        with schema_context(key.scope):
            ids = list(Certificate.objects.filter(key_id=key.kid).values_list("pk", flat=True))
            if options["dry_run"]:
                self.stdout.write(f"{len(ids)} certificate(s) signed by {key.kid}")
                return
            for certificate_id in ids:
                certificate_resign(certificate_id=certificate_id)
        self.stdout.write(f"re-signed {len(ids)} certificate(s) of {key.scope} signed by {key.kid}")
