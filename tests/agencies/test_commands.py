"""create_agency and migrate_agencies."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_exists

from apps.agencies.models import Agency, Domain

pytestmark = pytest.mark.django_db


def test_create_agency_clones_and_reports_its_time():
    out = io.StringIO()

    call_command(
        "create_agency",
        "cadastre",
        "--name-fr",
        "Cadastre",
        "--name-en",
        "Land Registry",
        stdout=out,
    )

    agency = Agency.objects.get(slug="cadastre")
    assert agency.schema_name == "cadastre"
    assert Domain.objects.get(tenant=agency).domain == "cadastre.localhost"
    assert schema_exists("cadastre")
    assert "created (schema cadastre) in" in out.getvalue()


def test_create_agency_refuses_a_taken_slug(agency_a):
    with translation.override("en"), pytest.raises(CommandError, match="already exists"):
        call_command("create_agency", "agence-a", "--name-fr", "x", "--name-en", "x")


def test_create_agency_reports_field_errors():
    with pytest.raises(CommandError, match="contact_email"):
        call_command(
            "create_agency", "douane", "--name-fr", "x", "--name-en", "x", "--contact-email", "nope"
        )
    assert not Agency.objects.filter(slug="douane").exists()


def test_migrate_agencies_reports_each_schema_and_skips_up_to_date_ones(agency_a, agency_b):
    out = io.StringIO()

    call_command("migrate_agencies", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/4] public: up to date")
    assert lines[1].startswith("[2/4] agency_template: up to date")
    assert lines[2].startswith("[3/4] agence_a: up to date")
    assert lines[3].startswith("[4/4] agence_b: up to date")
    assert lines[-1] == "4 schemas checked, 0 migrated."


def test_migrate_agencies_migrates_only_what_is_pending_and_resumes_after_a_failure(
    agency_a, agency_b
):
    with connection.cursor() as cursor:
        # agence_a forgets one migration whose table still exists: migrating it fails.
        cursor.execute(
            "DELETE FROM agence_a.django_migrations WHERE app = 'audit' AND name = '0001_initial'"
        )
    out = io.StringIO()

    with pytest.raises(CommandError, match="run the command again"):
        call_command("migrate_agencies", stdout=out)
    assert "agence_a: failed" in out.getvalue()
    assert "agence_b" not in out.getvalue()  # stopped at the first failure

    with connection.cursor() as cursor:  # the operator fixes the cause...
        cursor.execute(
            "INSERT INTO agence_a.django_migrations (app, name, applied) "
            "VALUES ('audit', '0001_initial', now())"
        )
        # ...and agence_b has a genuinely pending migration to apply (a leaf: no other
        # migration depends on sessions' last one).
        cursor.execute(
            "DELETE FROM agence_b.django_migrations WHERE app = 'sessions' "
            "AND name = (SELECT max(name) FROM agence_b.django_migrations "
            "WHERE app = 'sessions')"
        )
    out = io.StringIO()

    call_command("migrate_agencies", stdout=out)

    text = out.getvalue()
    assert "agence_a: up to date" in text
    assert "agence_b: migrated" in text
    assert text.splitlines()[-1] == "4 schemas checked, 1 migrated."


def test_migrate_agencies_can_target_one_schema(agency_a):
    out = io.StringIO()

    call_command("migrate_agencies", "--schema", "agence_a", stdout=out)

    assert out.getvalue().splitlines()[0].startswith("[1/1] agence_a: up to date")
