"""Run in the database an agency was restored into, as the application's rows-only role.

``python tests/ops/restored_agency_check.py SLUG`` prints one JSON object: the audit chain's
verification, each certificate's verdict and file hash, the reference a submission gets now,
whether the agency's host answers, and what the role was refused. Used by
tests/ops/test_agency_backup.py (a separate process: another database, another role).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.core.files.storage import storages  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.agencies.models import Agency  # noqa: E402
from apps.applications.models import Application  # noqa: E402
from apps.applications.services import application_transition  # noqa: E402
from apps.certificates.models import Certificate  # noqa: E402
from apps.certificates.services import certificate_verify_qr  # noqa: E402
from apps.core.context import set_context, system_context  # noqa: E402


def _refused(sql: str) -> str:
    """The error PostgreSQL gives this role for ``sql`` ("" if it was allowed: a failure)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
            transaction.set_rollback(True)
    except DatabaseError as exc:
        return str(exc).splitlines()[0]
    return ""


def main(slug: str) -> dict[str, Any]:
    set_context(system_context("restore_rehearsal"))
    agency = Agency.objects.get(slug=slug)
    schema = agency.schema_name
    out: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        out["role"], out["superuser"] = cursor.fetchone()

    stdout = io.StringIO()
    try:
        call_command("audit_verify", "--agency", slug, stdout=stdout)
        out["audit_verify"] = {"ok": True, "output": stdout.getvalue()}
    except CommandError as exc:
        out["audit_verify"] = {"ok": False, "output": stdout.getvalue() + str(exc)}

    storage = storages["default"]
    with schema_context(schema):
        certificates = []
        for certificate in Certificate.objects.order_by("reference"):
            with storage.open(certificate.file_path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            verdict = certificate_verify_qr(qr_text=certificate.signed_payload)
            certificates.append(
                {
                    "reference": certificate.reference,
                    "status": verdict.status,
                    "file_matches": digest == certificate.sha256,
                }
            )
        out["certificates"] = certificates

        draft = Application.objects.filter(status="draft", reference__isnull=True).first()
        assert draft is not None, "the rehearsal agency has a draft to submit"
        submitted = application_transition(
            application_id=draft.id,
            action="submit",
            actor=draft.citizen,
            role="citizen",
            if_match=draft.etag,
        )
        out["next_reference"] = submitted.reference

    domain = agency.domains.get(is_primary=True).domain
    out["host_answers"] = Client().get("/healthz", HTTP_HOST=domain).status_code

    out["refused"] = {
        "update_audit": _refused(f'UPDATE "{schema}".audit_auditevent SET action = action'),  # noqa: S608
        "truncate_audit": _refused(f'TRUNCATE "{schema}".audit_auditevent'),
        "disable_trigger": _refused(
            f'ALTER TABLE "{schema}".audit_auditevent DISABLE TRIGGER USER'
        ),
        "create_schema": _refused('CREATE SCHEMA "rehearsal_intruder"'),
        "create_table": _refused(f'CREATE TABLE "{schema}".intruder (id int)'),
    }
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
