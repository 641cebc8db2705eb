"""Backup and restore of one agency, rehearsed end to end.

An agency with a catalogue, applications in every state, attachments, issued certificates and
its audit trail is created (committed) in the test database and dumped with ``agency_dump``.
A new, empty database is created on the same server with the production roles
(deploy/postgres/roles.sql); as the owner role ``migrate_agencies`` prepares it and
``agency_restore`` restores the agency (into another media directory). Then, as the rows-only
application role: the audit chain verifies, every certificate verifies and its file is intact,
the next application reference continues without a gap, the host answers, and the role cannot
touch the audit trail or create schemas.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_context

from apps.accounts.models import Role, User
from apps.accounts.services import membership_grant
from apps.agencies.backup import BackupError, agency_public_rows, postgres_tool
from apps.agencies.models import Agency
from apps.agencies.services import agency_create
from apps.applications.demo import seed_demo_applications
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.catalogue.demo import DEMO_SERVICES, TOGO_HOLIDAYS_2026, seed_agency_catalogue
from apps.certificates.models import Certificate
from apps.certificates.services import certificate_issue
from apps.core.context import set_context, system_context
from apps.outbox import services as outbox_services

ROOT = Path(__file__).resolve().parents[2]
ROLES_SQL = ROOT / "deploy" / "postgres" / "roles.sql"

pytestmark = pytest.mark.slow


@dataclass
class Source:
    """The committed agency to back up and what it held."""

    agency: Agency
    citizens: list[User]
    last_reference: str
    certificates: list[str]


def _tool(name: str, blocker: Any) -> Path:
    """The client tool of the server's version, or a skip saying which was not found."""
    try:
        with blocker.unblock():
            return postgres_tool(name)
    except BackupError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def source(django_db_setup: None, django_db_blocker: Any) -> Iterator[Source]:
    """A committed agency with real data, shared by this module's tests (the in-place restore
    runs last and leaves it restored), removed (schema and public rows) at the end."""
    tag = secrets.token_hex(3)
    slug = f"repetition-{tag}"
    people: list[User] = []
    agency: Agency | None = None
    try:
        # Deliveries stay in the agency's outbox (dumped with it), away from the test broker.
        with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
            patch.setattr(outbox_services, "broker_publisher", _no_broker)
            set_context(system_context("restore_rehearsal"))
            agency = agency_create(slug=slug, name_fr="Répétition", name_en="Rehearsal")
            for role in (Role.AGENT, Role.SUPERVISOR):
                staff = User.objects.create_user(email=f"{role}-{tag}@{slug}.localhost")
                people.append(staff)
                membership_grant(user=staff, agency=agency, role=role)
            citizens = [
                User.objects.create_user(email=f"citizen{n}-{tag}@example.tg") for n in (1, 2)
            ]
            people += citizens
            seed_agency_catalogue(
                agency=agency,
                definitions=DEMO_SERVICES["etat-civil"],
                holidays=TOGO_HOLIDAYS_2026,
            )
            seed_demo_applications(agencies=[agency], citizens=citizens)
            with schema_context(agency.schema_name):
                for application in Application.objects.filter(status="approved"):
                    certificate_issue(application_id=application.id)
                references = sorted(
                    Application.objects.exclude(reference=None).values_list("reference", flat=True)
                )
                codes = list(Certificate.objects.values_list("reference", flat=True))
        assert codes, "the rehearsal needs issued certificates"
        yield Source(agency, citizens, references[-1], sorted(codes))
    finally:
        with django_db_blocker.unblock():
            if agency is not None:
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP SCHEMA IF EXISTS "{agency.schema_name}" CASCADE')
                connection.set_schema_to_public()
                Agency.objects.filter(pk=agency.pk).delete()  # with its domains, memberships...
            # Not User.delete(): the ORM would look for the agency tables in the public schema.
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM public.accounts_user WHERE id = ANY(%s)",
                    [[person.pk for person in people]],
                )


class _no_broker:  # noqa: N801 - stands in for the broker_publisher context manager
    def __enter__(self) -> Any:
        return lambda message_id: None

    def __exit__(self, *exc: object) -> None:
        return None


def _url(user: str, database: str) -> str:
    """A DATABASE_URL of this server for ``user`` and ``database`` (TCP or unix socket)."""
    settings = connection.settings_dict
    host = settings.get("HOST") or ""
    port = settings.get("PORT") or ""
    if host.startswith("/"):
        return f"postgresql://{quote(user)}@/{database}?host={quote(host)}" + (
            f"&port={port}" if port else ""
        )
    return f"postgresql://{quote(user)}@{host}:{port or 5432}/{database}"


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def target(
    django_db_setup: None, django_db_blocker: Any, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """An empty database with the production roles; dropped, roles too, at the end."""
    psql = _tool("psql", django_db_blocker)
    tag = secrets.token_hex(4)
    database = f"{connection.settings_dict['NAME']}_restore_{tag}"[:63]
    owner, app = f"guichet_owner_{tag}", f"guichet_app_{tag}"
    admin = connection.settings_dict.get("USER") or "postgres"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    libpq = {
        key: str(value)
        for key, value in {
            "PGHOST": connection.settings_dict.get("HOST"),
            "PGPORT": connection.settings_dict.get("PORT"),
            "PGUSER": admin,
            "PGDATABASE": database,
        }.items()
        if value
    }
    try:
        _run(
            [
                str(psql),
                "--no-psqlrc",
                "-q",
                "-v",
                f"dbname={database}",
                "-v",
                f"owner={owner}",
                "-v",
                f"owner_password={secrets.token_urlsafe(16)}",
                "-v",
                f"app={app}",
                "-v",
                f"app_password={secrets.token_urlsafe(16)}",
                "-f",
                str(ROLES_SQL),
            ],
            {**os.environ, **libpq},
        )
        base = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            # Another machine: its own media, hot keys and (filesystem) broker.
            "GUICHET_VAR_DIR": str(tmp_path / "var"),
        }
        yield {
            "owner": json.dumps({**base, "DATABASE_URL": _url(owner, database)}),
            "app": json.dumps({**base, "DATABASE_URL": _url(app, database)}),
            "app_role": app,
        }
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            cursor.execute(f'DROP ROLE IF EXISTS "{owner}"')
            cursor.execute(f'DROP ROLE IF EXISTS "{app}"')


def _number(reference: str) -> tuple[str, int]:
    match = re.fullmatch(r"([A-Z0-9]+)-(\d{4})-(\d+)", reference)
    assert match is not None, reference
    prefix, year, number = match.groups()
    return f"{prefix}-{year}", int(number)


def test_an_agency_dumped_and_restored_into_an_empty_database_verifies_and_goes_on(
    source, target, tmp_path, django_db_blocker
):
    for name in ("pg_dump", "pg_restore"):
        _tool(name, django_db_blocker)
    dump = tmp_path / "agency.tar"
    with django_db_blocker.unblock():
        call_command("agency_dump", source.agency.slug, str(dump))
    with tarfile.open(dump) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        files = [name for name in archive.getnames() if name.startswith("files/")]
    assert manifest["schema"] == source.agency.schema_name
    assert manifest["tables"]["agencies_domain"] == 1
    assert manifest["tables"]["accounts_membership"] == 2
    assert manifest["tables"]["accounts_user"] == 4
    assert files  # attachments and certificate PDFs
    assert all(name.startswith(f"files/{source.agency.schema_name}/") for name in files)
    assert oct(dump.stat().st_mode & 0o777) == "0o600"  # personal data inside

    owner_env, app_env = json.loads(target["owner"]), json.loads(target["app"])
    python = sys.executable
    _run([python, "manage.py", "migrate_agencies"], owner_env)
    restored = _run([python, "manage.py", "agency_restore", str(dump)], owner_env)
    assert "restored" in restored.stdout
    check = _run([python, "tests/ops/restored_agency_check.py", source.agency.slug], app_env)
    result = json.loads(check.stdout.strip().splitlines()[-1])

    assert result["role"] == target["app_role"]
    assert result["superuser"] is False
    assert result["audit_verify"]["ok"], result["audit_verify"]["output"]
    assert f"{source.agency.schema_name}: OK" in result["audit_verify"]["output"]
    assert sorted(c["reference"] for c in result["certificates"]) == source.certificates
    assert {c["status"] for c in result["certificates"]} == {"valid"}
    assert all(c["file_matches"] for c in result["certificates"])
    series, last = _number(source.last_reference)
    assert _number(result["next_reference"]) == (series, last + 1)  # no gap, no reuse
    assert result["host_answers"] == 200
    refused = result["refused"]
    assert "permission denied" in refused["update_audit"]
    assert "permission denied" in refused["truncate_audit"]
    assert "must be owner" in refused["disable_trigger"]
    assert "permission denied" in refused["create_schema"]
    assert "permission denied" in refused["create_table"]

    # A second restore of the same backup is refused: the agency is there.
    again = subprocess.run(
        [python, "manage.py", "agency_restore", str(dump)],
        cwd=ROOT,
        env=owner_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode != 0
    assert "already exists" in again.stderr


def test_the_public_rows_of_an_agency_are_its_own_and_what_they_refer_to(source, django_db_blocker):
    with django_db_blocker.unblock():
        rows = agency_public_rows(source.agency)

    assert [row["slug"] for row in rows.owned["agencies_agency"]] == [source.agency.slug]
    assert {row["agency_id"] for row in rows.owned["accounts_membership"]} == {
        str(source.agency.pk)
    }
    entries = rows.owned["directory_applicationentry"]
    assert entries
    assert {row["agency_id"] for row in entries} == {str(source.agency.pk)}
    emails = {row["email"] for row in rows.referenced["accounts_user"]}
    assert {citizen.email for citizen in source.citizens} <= emails
    # Nothing of another agency.
    assert {row["tenant_id"] for row in rows.owned["agencies_domain"]} == {str(source.agency.pk)}


def test_dump_of_an_unknown_agency_and_restore_of_a_non_backup_fail_clearly(
    tmp_path, django_db_setup, django_db_blocker
):
    not_a_backup = tmp_path / "x.tar"
    not_a_backup.write_bytes(b"not a tar file")
    with django_db_blocker.unblock():
        with pytest.raises(CommandError, match="no agency with slug 'nope'"):
            call_command("agency_dump", "nope", str(tmp_path / "nope.tar"))
        with pytest.raises(CommandError, match="is not an agency backup"):
            call_command("agency_restore", str(not_a_backup))


def test_an_agency_lost_from_the_live_platform_is_restored_in_place(
    source, tmp_path, django_db_blocker
):
    # The platform lives on; one agency's schema and public rows are lost. Its people are
    # still there (kept as they are) and so are its files (left alone when identical).
    _tool("pg_dump", django_db_blocker)
    _tool("pg_restore", django_db_blocker)
    dump = tmp_path / "agency.tar"
    slug, schema = source.agency.slug, source.agency.schema_name
    with django_db_blocker.unblock():
        call_command("agency_dump", slug, str(dump))
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.set_schema_to_public()
        Agency.objects.filter(pk=source.agency.pk).delete()

        restored = io.StringIO()
        call_command("agency_restore", str(dump), stdout=restored)
        verified = io.StringIO()
        call_command("audit_verify", "--agency", slug, "--no-record", stdout=verified)

        agency = Agency.objects.get(slug=slug)
        domain = agency.domains.get().domain
        with schema_context(schema):
            certificates = sorted(Certificate.objects.values_list("reference", flat=True))
        platform_event = AuditEvent.objects.filter(
            action="agency.restored", target_id=slug
        ).exists()

    assert "0 files written" in restored.getvalue()  # all of them were still there
    assert f"{schema}: OK" in verified.getvalue()
    assert agency.pk == source.agency.pk
    assert domain == f"{slug}.localhost"
    assert certificates == source.certificates
    assert platform_event
