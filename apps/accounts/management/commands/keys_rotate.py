"""``manage.py keys_rotate --kind KIND``: rotate, retire, revoke and list signing keys.

Kinds come from ``apps.accounts.keyring.KEY_KINDS`` (one entry per kind: ``jwt``,
``certificates``, ``ca``, ``webhooks``; another app adds its own with one entry). A per-agency
kind (``certificates``) rotates every agency's key, or one with ``--agency SLUG``.

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
    KEY_KINDS,
    keyring_retire_expired,
    keyring_revoke,
    keyring_rotate,
    kind_policy,
    kind_scopes,
)
from apps.accounts.models import KeyStatus, SigningKey
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    """Rotate the signing keys of one kind."""

    help = "Rotate (or retire, revoke, list) the signing keys of one kind."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare ``--kind`` and the actions."""
        parser.add_argument("--kind", required=True, choices=sorted(KEY_KINDS))
        parser.add_argument(
            "--agency", metavar="SLUG", help="per-agency kinds: only this agency's key"
        )
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--if-missing", action="store_true", help="only a first key")
        action.add_argument("--retire-expired", action="store_true", help="only retire")
        action.add_argument("--revoke", metavar="KID", help="retire this key at once")
        action.add_argument("--list", action="store_true", help="print the key history")

    def handle(self, *args: Any, **options: Any) -> None:
        """Do the one action asked for and say what changed."""
        kind = options["kind"]
        scopes = self._scopes(kind, options.get("agency"))
        if options["list"]:
            for key in SigningKey.objects.filter(kind=kind, scope__in=scopes).order_by(
                "scope", "created_at"
            ):
                self.stdout.write(
                    f"{key.kid}\t{key.scope or '-'}\t{key.status}"
                    f"\tcreated {key.created_at:%Y-%m-%dT%H:%M:%SZ}"
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
        for scope in scopes:
            self._rotate(kind, scope, if_missing=options["if_missing"])

    def _scopes(self, kind: str, agency: str | None) -> list[str]:
        if not kind_policy(kind).per_scope:
            if agency:
                raise CommandError(f"--agency does not apply to --kind {kind}")
            return [""]
        if not agency:
            return kind_scopes(kind)
        from apps.agencies.models import Agency

        schema = Agency.objects.filter(slug=agency).values_list("schema_name", flat=True).first()
        if schema is None:
            raise CommandError(f"no agency {agency!r}")
        return [schema]

    def _rotate(self, kind: str, scope: str, *, if_missing: bool) -> None:
        where = f" ({scope})" if scope else ""
        if (
            if_missing
            and SigningKey.objects.filter(kind=kind, scope=scope, status=KeyStatus.ACTIVE).exists()
        ):
            self.stdout.write(f"an active key exists{where}: nothing to do")
            return
        rotation = keyring_rotate(kind=kind, scope=scope)
        self.stdout.write(f"new active key{where}: {rotation.new_kid}")
        if rotation.demoted_kid:
            self.stdout.write(
                f"{rotation.demoted_kid} verifies until {rotation.verify_until:%Y-%m-%dT%H:%M:%SZ}"
            )
        if rotation.retired:
            self.stdout.write(f"retired: {', '.join(rotation.retired)}")
