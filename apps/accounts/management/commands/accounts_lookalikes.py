"""``manage.py accounts_lookalikes``: existing accounts whose e-mail addresses look alike.

Groups the accounts whose addresses share a canonical form or a skeleton
(``apps.accounts.identifiers``): fullwidth letters, zero-width or bidi characters, homoglyphs
of another script, or a stored address that is not in canonical form. Prints one line per
group with the account ids (the addresses only with ``--show-emails``: personal data), and
the accounts whose address mixes scripts. ``--check`` exits with status 1 when anything is
reported (for monitoring).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.identifiers import email_skeleton, normalize_email
from apps.accounts.models import User


class Command(BaseCommand):
    """Report accounts that collide after e-mail normalisation."""

    help = "Report existing accounts whose e-mail addresses collide after normalisation."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare ``--show-emails`` and ``--check``."""
        parser.add_argument("--show-emails", action="store_true", help="print the addresses")
        parser.add_argument("--check", action="store_true", help="exit 1 if anything is found")

    def handle(self, *args: Any, **options: Any) -> None:
        """Group the accounts by skeleton and print the groups of more than one."""
        groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
        mixed: list[tuple[str, str]] = []
        rows = User.objects.exclude(email=None).order_by("date_joined", "id")
        for user_id, email in rows.values_list("id", "email").iterator():
            groups[email_skeleton(email)].append((str(user_id), email))
            try:
                normalize_email(email)
            except ValidationError as exc:
                if exc.code == "email_mixed_script":
                    mixed.append((str(user_id), email))

        def show(members: list[tuple[str, str]]) -> str:
            if options["show_emails"]:
                return ", ".join(f"{uid} <{email!r}>" for uid, email in members)
            return ", ".join(uid for uid, _email in members)

        collisions = [members for members in groups.values() if len(members) > 1]
        for members in collisions:
            self.stdout.write(f"look-alike: {show(members)}")
        for member in mixed:
            self.stdout.write(f"mixed-script: {show([member])}")
        self.stdout.write(
            f"{len(collisions)} group(s) of look-alike accounts, "
            f"{len(mixed)} mixed-script address(es)"
        )
        if options["check"] and (collisions or mixed):
            raise CommandError("look-alike accounts found", returncode=1)
