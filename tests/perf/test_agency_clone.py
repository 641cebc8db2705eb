"""Agencies are created by ``apps.agencies.cloning.schema_clone``: a faithful, isolated copy.

Faithful: every table, column, constraint, index and trigger of the template, under the same
names (django-tenants' clone renamed unique constraints), and its rows (the migrations are
recorded: the new schema is up to date without a fake migrate). Isolated: nothing in the new
schema points at the template (foreign keys, sequences, triggers).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from apps.agencies.cloning import SchemaCloneError, schema_clone
from apps.agencies.services import agency_create, applied_migrations, expected_migrations

pytestmark = pytest.mark.django_db

TEMPLATE = "agency_template"


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def _shape(schema: str) -> dict[str, Any]:
    """Names and definitions in ``schema``, with the schema's own name abstracted away."""

    def local(text: str) -> str:
        return text.replace(f"{schema}.", "<schema>.")

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = public")
    columns = _rows(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "a.attidentity, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY 1, a.attnum",
        [schema],
    )
    constraints = _rows(
        "SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid) "
        "FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid "
        "WHERE co.connamespace = %s::regnamespace ORDER BY 1, 2",
        [schema],
    )
    indexes = _rows(
        "SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ic.relnamespace = %s::regnamespace "
        "ORDER BY 1",
        [schema],
    )
    triggers = _rows(
        "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %s::regnamespace "
        "AND NOT t.tgisinternal ORDER BY 1, 2",
        [schema],
    )
    return {
        "columns": columns,
        # CHECK expressions are re-parsed, and PostgreSQL prints the casts of an IN list
        # differently afterwards; their names and tables must match, the rest exactly.
        "constraints": [
            (table, name, kind, "" if kind == "c" else local(definition))
            for table, name, kind, definition in constraints
        ],
        "indexes": [(name, local(definition)) for name, definition in indexes],
        "triggers": [(table, name, local(definition)) for table, name, definition in triggers],
        "migrations": _rows(
            f'SELECT app, name FROM "{schema}".django_migrations ORDER BY 1, 2',  # noqa: S608
            [],
        ),
        "content_types": _rows(
            f'SELECT id, app_label, model FROM "{schema}".django_content_type '  # noqa: S608
            "ORDER BY id",
            [],
        ),
    }


@pytest.fixture
def new_agency() -> Any:
    return agency_create(slug="perf-clone", name_fr="Clone", name_en="Clone")


def test_a_new_agency_is_the_template_object_for_object(new_agency):
    template, cloned = _shape(TEMPLATE), _shape(new_agency.schema_name)

    for part in template:
        assert cloned[part] == template[part], part
    assert len(template["constraints"]) > 50
    assert ("audit_auditevent", "audit_event_sequence_unique", "u", "UNIQUE (sequence)") in (
        cloned["constraints"]
    )


def test_a_new_agency_is_up_to_date_without_a_fake_migrate(new_agency):
    assert expected_migrations() <= applied_migrations(new_agency.schema_name)


def test_nothing_in_a_new_agency_points_at_the_template(new_agency):
    schema = new_agency.schema_name
    foreign = _rows(
        "SELECT DISTINCT target.relnamespace::regnamespace::text FROM pg_constraint co "
        "JOIN pg_class target ON target.oid = co.confrelid "
        "WHERE co.connamespace = %s::regnamespace AND co.contype = 'f'",
        [schema],
    )
    sequences = _rows(
        "SELECT DISTINCT pg_get_serial_sequence(format('%%I.%%I', c.relnamespace::regnamespace,"
        " c.relname), a.attname) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = %s::regnamespace AND a.attidentity <> ''",
        [schema],
    )

    assert {row[0] for row in foreign} == {schema, "public"}
    assert sequences
    assert all(row[0].startswith(f"{schema}.") for row in sequences)


def test_identity_sequences_continue_after_the_copied_rows(new_agency):
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{new_agency.schema_name}".django_content_type (app_label, model) '  # noqa: S608
            "VALUES ('perf', 'probe') RETURNING id"
        )
        new_id = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) FROM agency_template.django_content_type")
        template_max = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM agency_template.django_content_type WHERE model = 'probe'"
        )
        in_template = cursor.fetchone()[0]

    assert new_id == template_max + 1
    assert in_template == 0


def test_the_audit_tables_of_a_new_agency_are_append_only(new_agency):
    schema = new_agency.schema_name
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT perf_append_only")
        with pytest.raises(ProgrammingError, match="append-only"):
            cursor.execute(f'TRUNCATE "{schema}".audit_auditevent')
        cursor.execute("ROLLBACK TO SAVEPOINT perf_append_only")


def test_a_template_holding_something_unknown_is_refused_and_nothing_is_left(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA perf_tpl")
        cursor.execute("CREATE TABLE perf_tpl.thing (id bigint PRIMARY KEY)")
        cursor.execute("CREATE VIEW perf_tpl.things AS SELECT id FROM perf_tpl.thing")

        with pytest.raises(SchemaCloneError, match="things"), transaction.atomic():
            schema_clone(cursor, source="perf_tpl", target="perf_copy")

        cursor.execute("SELECT to_regnamespace('perf_copy')")
        assert cursor.fetchone()[0] is None


def test_schema_names_must_be_plain(db):
    with connection.cursor() as cursor, pytest.raises(ValueError, match="plain"):
        schema_clone(cursor, source=TEMPLATE, target='x"; DROP SCHEMA public; --')


def test_create_schema_leaves_an_existing_schema_alone(agency_a):
    assert agency_a.create_schema(check_if_exists=True) is False


def test_without_a_template_django_tenants_migrates_the_schema(settings):
    from apps.agencies.models import Agency

    settings.TENANT_BASE_SCHEMA = "no_such_template"
    agency = Agency(
        slug="perf-no-template", schema_name="perf_no_template", name_fr="x", name_en="x"
    )

    agency.create_schema(check_if_exists=True, verbosity=0)

    assert expected_migrations() <= applied_migrations("perf_no_template")
