"""Readable, gap-free references per agency and per year: ``EC-2026-000123``.

``reference_claim`` must run inside the transaction that submits the application: one
statement (an ``UPDATE ... RETURNING`` the new number) locks the year's counter row until that
transaction ends, so concurrent submissions queue on the row and a submission that rolls back
gives its number back. Unique (constraint on ``Application.reference``) and gap-free (no
number is consumed outside a committed submission). The submit claims it *last*: after it,
the transaction sends one round trip of writes and commits (``apps.core.batching``), so the
row is held for about two round trips, not for the whole submission.

``reference_allocate`` is the older three-statement form (kept for callers outside the hot
path).
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.applications.models import ReferenceSequence
from apps.audit.services import audit_changes, audit_record
from apps.core.errors import InvalidInput
from apps.core.tenancy import current_schema

NUMBER_DIGITS = 6


def default_prefix(schema_name: str) -> str:
    """Initials of the agency's slug parts in capitals: ``etat_civil`` -> ``EC``."""
    parts = [part for part in schema_name.replace("-", "_").split("_") if part]
    return "".join(part[0] for part in parts).upper() or "AG"


def reference_format(*, prefix: str, year: int, number: int) -> str:
    """``PREFIX-YEAR-NNNNNN`` (more digits once a year passes a million)."""
    return f"{prefix}-{year}-{number:0{NUMBER_DIGITS}d}"


def reference_allocate(*, at: datetime | None = None) -> str:
    """The next reference of the current agency for the year of ``at`` (local time).

    Must be called inside ``transaction.atomic``: the counter row stays locked until commit.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reference_allocate must run inside the submitting transaction")
    year = timezone.localtime(at or timezone.now()).year
    # Create the year's row if it is missing without racing another submitter: ON CONFLICT DO
    # NOTHING, then lock whichever row won.
    ReferenceSequence.objects.bulk_create([ReferenceSequence(year=year)], ignore_conflicts=True)
    sequence = ReferenceSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    prefix = sequence.prefix or default_prefix(current_schema())
    return reference_format(prefix=prefix, year=year, number=sequence.last_number)


# A plain UPDATE queues concurrent claimers on the row's tuple lock, first come first served:
# each commit wakes the next one only. (``INSERT ... ON CONFLICT DO UPDATE`` waits on the
# holder's transaction instead, and every commit wakes every waiter to retry: a herd.)
_CLAIM_SQL = """
UPDATE applications_referencesequence SET last_number = last_number + 1
WHERE year = %s
RETURNING prefix, last_number
"""
_CREATE_YEAR_SQL = """
INSERT INTO applications_referencesequence (year, prefix, last_number) VALUES (%s, '', 0)
ON CONFLICT (year) DO NOTHING
"""


def reference_claim(*, at: datetime | None = None) -> str:
    """The next reference of the current agency for the year of ``at``, in one statement.

    Must be called inside ``transaction.atomic``, as late as possible: the counter row stays
    locked until commit. The first claim of a year creates the year's row first (once).
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("reference_claim must run inside the submitting transaction")
    year = timezone.localtime(at or timezone.now()).year
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [year])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_CREATE_YEAR_SQL, [year])
            cursor.execute(_CLAIM_SQL, [year])
            row = cursor.fetchone()
    prefix, number = row
    return reference_format(
        prefix=prefix or default_prefix(current_schema()), year=year, number=int(number)
    )


PREFIX_RE = re.compile(r"^[A-Z]{1,8}$")


@transaction.atomic
def reference_prefix_set(*, year: int, prefix: str) -> ReferenceSequence:
    """Override (or, with ``""``, restore) the prefix of ``year``'s references (agency admins).

    Numbers go on from where they are: only the letters change.
    """
    prefix = prefix.strip().upper()
    if prefix and not PREFIX_RE.match(prefix):
        raise InvalidInput(errors={"prefix": [_("Use 1 to 8 capital letters.")]})
    ReferenceSequence.objects.bulk_create([ReferenceSequence(year=year)], ignore_conflicts=True)
    sequence = ReferenceSequence.objects.select_for_update().get(year=year)
    before = sequence.prefix
    sequence.prefix = prefix
    sequence.save(update_fields=["prefix"])
    audit_record(
        action="applications.reference_prefix_set",
        target_type="reference_sequence",
        target_id=year,
        changes=audit_changes(before={"prefix": before}, after={"prefix": prefix}),
    )
    return sequence
