"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the audit tables, in every schema.

The test database connects as the superuser ``postgres``: privileges do not bind it, triggers
do, and that is what these tests exercise with raw SQL.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context

from apps.audit.checkpoints import audit_checkpoint_create
from apps.audit.models import AppendOnlyError, AuditCheckpoint, AuditEvent
from apps.audit.protection import audit_protect_schema, expected_triggers, protected_triggers
from apps.audit.services import audit_record

pytestmark = pytest.mark.django_db

SCHEMAS = ("public", "agence_a", "agency_template")


def _refused(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    return str(caught.value)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_schema_has_the_triggers(schema, agency_a):
    with connection.cursor() as cursor:
        assert protected_triggers(cursor, schema) == expected_triggers()


@pytest.mark.parametrize("schema", ["public", "agence_a"])
def test_raw_update_delete_and_truncate_are_refused(schema, agency_a):
    with schema_context(schema):
        event = audit_record(action="immutable.event", target_id="t-1")
        # Unqualified names: the connection's search path is the schema under test.
        update = _refused("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
        delete = _refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
        truncate = _refused("TRUNCATE audit_auditevent")

        stored = AuditEvent.objects.get(pk=event.pk)
    assert f"audit table {schema}.audit_auditevent is append-only: UPDATE refused" in update
    assert "append-only: DELETE refused" in delete
    assert "append-only: TRUNCATE refused" in truncate
    assert (stored.action, stored.hash) == ("immutable.event", event.hash)


def test_checkpoints_are_append_only_too(agency_a):
    with schema_context(agency_a.schema_name):
        checkpoint = audit_checkpoint_create(force=True).checkpoint
        _refused("UPDATE audit_auditcheckpoint SET signature = 'x' WHERE id = %s", [checkpoint.pk])
        _refused("DELETE FROM audit_auditcheckpoint WHERE id = %s", [checkpoint.pk])
        _refused("TRUNCATE audit_auditcheckpoint")
        assert AuditCheckpoint.objects.get(pk=checkpoint.pk).signature == checkpoint.signature


def test_the_orm_refuses_before_the_database_does(agency_a):
    with schema_context(agency_a.schema_name):
        event = audit_record(action="orm.guard")
        checkpoint = audit_checkpoint_create(force=True).checkpoint
        for attempt in (
            event.save,
            event.delete,
            checkpoint.delete,
            lambda: AuditEvent.objects.filter(pk=event.pk).update(action="x"),
            lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
            lambda: AuditEvent.objects.bulk_update([event], ["action"]),
        ):
            with pytest.raises(AppendOnlyError, match="append-only"):
                attempt()
        assert AuditEvent.objects.filter(pk=event.pk, action="orm.guard").exists()


def test_cloning_the_template_copies_the_triggers(agency_a):
    # What agency_create does (django-tenants' clone), without the post-migration hook.
    CloneSchema().clone_schema("agency_template", "audit_clone_probe")

    with connection.cursor() as cursor:
        assert protected_triggers(cursor, "audit_clone_probe") == expected_triggers()
    _refused("TRUNCATE audit_clone_probe.audit_auditevent")


def test_protection_is_idempotent_and_disabled_triggers_are_not_counted(agency_a):
    with connection.cursor() as cursor:
        audit_protect_schema(cursor, "agence_a")
        audit_protect_schema(cursor, "agence_a")
        assert protected_triggers(cursor, "agence_a") == expected_triggers()
        cursor.execute("ALTER TABLE agence_a.audit_auditevent DISABLE TRIGGER USER")
        assert not {t for t in protected_triggers(cursor, "agence_a") if t[0] == "audit_auditevent"}


def test_nothing_refers_to_audit_rows_so_no_cascade_can_delete_them():
    referencing = [
        field
        for model in (AuditEvent, AuditCheckpoint)
        for field in model._meta.get_fields()
        if field.is_relation
    ]

    assert referencing == []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM pg_constraint
            WHERE contype = 'f'
              AND confrelid IN (SELECT oid FROM pg_class
                                WHERE relname IN ('audit_auditevent', 'audit_auditcheckpoint'))
            """
        )
        assert cursor.fetchone()[0] == 0


def test_the_migration_hook_installs_the_triggers_and_skips_schemas_without_the_tables(agency_a):
    from apps.audit.apps import protect_migrated_schema

    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA audit_no_tables")
        cursor.execute("ALTER TABLE agence_a.audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "DROP TRIGGER audit_auditcheckpoint_no_delete ON agence_a.audit_auditcheckpoint"
        )

    protect_migrated_schema(sender=None, schema_name="audit_no_tables")
    protect_migrated_schema(sender=None, schema_name="agence_a")

    with connection.cursor() as cursor:
        assert protected_triggers(cursor, "audit_no_tables") == set()
        # re-created; the disabled ones stay disabled (an operator's explicit act)
        assert ("audit_auditcheckpoint", "audit_auditcheckpoint_no_delete") in protected_triggers(
            cursor, "agence_a"
        )


def test_rows_describe_themselves(agency_a):
    with schema_context(agency_a.schema_name):
        event = audit_record(action="described")
        checkpoint = audit_checkpoint_create(force=True).checkpoint

    assert str(event).startswith(f"#{event.sequence} ")
    assert str(event).endswith(" described success")
    assert str(checkpoint).startswith(f"agence_a #{checkpoint.sequence} ")
