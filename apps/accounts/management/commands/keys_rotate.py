"""``manage.py keys_rotate --kind jwt``: rotate, retire, revoke and list token-signing keys.

* no option: a new key becomes active; the previous one keeps verifying until its last token
  has expired (``verify_until``), so nobody is signed out; keys past that point are retired;
* ``--if-missing``: make the first key only if there is no active one (deployments, idempotent);
* ``--retire-expired``: only retire the demoted keys whose tokens have all expired (cron);
* ``--revoke KID``: retire that key at once (compromise); if it was the active one a new key
  is made active first. Its tokens stop verifying;
* ``--list``: the history of the ring.

The procedure, including what to do after a compromise, is in ``docs/keys.md``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.keyring import (
    keyring_retire_expired,
    keyring_revoke,
    keyring_rotate,
)
from apps.accounts.models import KeyKind, KeyStatus, SigningKey
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    """Rotate the signing keys of one kind."""

    help = "Rotate (or retire, revoke, list) the signing keys of one kind."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare ``--kind`` and the actions."""
        parser.add_argument("--kind", required=True, choices=[k.value for k in KeyKind])
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--if-missing", action="store_true", help="only a first key")
        action.add_argument("--retire-expired", action="store_true", help="only retire")
        action.add_argument("--revoke", metavar="KID", help="retire this key at once")
        action.add_argument("--list", action="store_true", help="print the key history")

    def handle(self, *args: Any, **options: Any) -> None:
        """Do the one action asked for and say what changed."""
        kind = options["kind"]
        if options["list"]:
            for key in SigningKey.objects.filter(kind=kind).order_by("created_at"):
                self.stdout.write(
                    f"{key.kid}\t{key.status}\tcreated {key.created_at:%Y-%m-%dT%H:%M:%SZ}"
                    f"\tverifies until {key.verify_until or '-'}\tretired {key.retired_at or '-'}"
                )
            return
        if options["retire_expired"]:
            retired = keyring_retire_expired(kind=kind)
            self.stdout.write(f"retired: {', '.join(retired) or 'none'}")
            return
        if options["revoke"]:
            try:
                rotation = keyring_revoke(kid=options["revoke"])
            except ApplicationError as exc:
                raise CommandError(f"{exc.code}: {exc}") from exc
            self.stdout.write(f"revoked: {options['revoke']}")
            if rotation is not None:
                self.stdout.write(f"new active key: {rotation.new_kid}")
            return
        if (
            options["if_missing"]
            and SigningKey.objects.filter(kind=kind, status=KeyStatus.ACTIVE).exists()
        ):
            self.stdout.write("an active key exists: nothing to do")
            return
        rotation = keyring_rotate(kind=kind)
        self.stdout.write(f"new active key: {rotation.new_kid}")
        if rotation.demoted_kid:
            self.stdout.write(
                f"{rotation.demoted_kid} verifies until {rotation.verify_until:%Y-%m-%dT%H:%M:%SZ}"
            )
        if rotation.retired:
            self.stdout.write(f"retired: {', '.join(rotation.retired)}")
