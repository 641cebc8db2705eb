"""Data of the ``storage`` section: agency ``bench-storage``, one service accepting PDFs up to
5 MiB, one citizen and fresh drafts (attachments of an earlier run are deleted first: a draft
holds at most 20 documents). Prints nothing; writes the state file named by ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.accounts.tokens import TokenKind, issue_user_tokens  # noqa: E402
from apps.applications.models import Application, Attachment  # noqa: E402
from apps.core.context import set_context, system_context  # noqa: E402
from apps.directory.models import ApplicationEntry  # noqa: E402
from benches.harness.seed import (  # noqa: E402
    agency_ensure,
    drafts_reset,
    person_ensure,
    services_ensure,
)

AGENCY = ("bench-storage", "bench-storage.localhost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--drafts", type=int, default=40)
    args = parser.parse_args()
    set_context(system_context("bench.storage_seed"))
    connection.set_schema_to_public()
    agency, _ = agency_ensure(*AGENCY)
    (service,) = services_ensure(agency, 1, documents=True)
    citizen = person_ensure("bench-storage-citizen@bench.localhost")
    with schema_context(agency.schema_name):
        Attachment.objects.all().delete()
        old = list(Application.objects.values_list("id", flat=True))
        Application.objects.all().delete()
    ApplicationEntry.objects.filter(id__in=old).delete()
    drafts_reset(agency, service, [citizen], args.drafts)
    with schema_context(agency.schema_name):
        drafts = [str(pk) for pk in Application.objects.values_list("id", flat=True)]
    state = {
        "host": AGENCY[1],
        "document_type": "piece-identite",
        "token": issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN).access,
        "drafts": drafts,
    }
    args.out.write_text(json.dumps(state))


if __name__ == "__main__":
    main()
