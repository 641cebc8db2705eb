"""Hash chain, signed checkpoints and append-only triggers.

Existing events (from before the chain existed) are chained in the order they were recorded,
then the columns become mandatory, and the triggers are installed in the schema being
migrated (public, the agency template, each agency).
"""

import uuid

from django.db import migrations, models

from apps.audit.canonical import GENESIS_HASH, event_hash, event_record
from apps.audit.protection import audit_protect_schema

FIELDS = (
    "id",
    "agency_schema",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "changes",
    "outcome",
    "ip",
    "user_agent",
    "request_id",
)


def chain_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    prev_hash = GENESIS_HASH
    rows = AuditEvent.objects.order_by("occurred_at", "id").values(*FIELDS)
    for sequence, values in enumerate(rows.iterator(), start=1):
        values = dict(values, version=1, sequence=sequence, prev_hash=prev_hash)
        digest = event_hash(event_record(values))
        AuditEvent.objects.filter(pk=values["id"]).update(
            version=1, sequence=sequence, prev_hash=prev_hash, hash=digest
        )
        prev_hash = digest


def protect(apps, schema_editor):
    schema = getattr(schema_editor.connection, "schema_name", "public")
    with schema_editor.connection.cursor() as cursor:
        audit_protect_schema(cursor, schema)


def unprotect(apps, schema_editor):
    schema = getattr(schema_editor.connection, "schema_name", "public")
    with schema_editor.connection.cursor() as cursor:
        for table in ("audit_auditevent", "audit_auditcheckpoint"):
            for operation in ("update", "delete", "truncate"):
                cursor.execute(
                    f'DROP TRIGGER IF EXISTS "{table}_no_{operation}" ON "{schema}"."{table}"'
                )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="version",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="chain format version"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.BigIntegerField(null=True, verbose_name="sequence"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64, verbose_name="previous hash"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", max_length=64, verbose_name="hash"),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.BigIntegerField(verbose_name="sequence"),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={
                "ordering": ("sequence",),
                "verbose_name": "audit event",
                "verbose_name_plural": "audit events",
            },
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("sequence",), name="audit_event_sequence_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=models.Q(("sequence__gte", 1)), name="audit_event_sequence_positive"
            ),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "version",
                    models.PositiveSmallIntegerField(default=1, verbose_name="format version"),
                ),
                ("agency_schema", models.CharField(max_length=63, verbose_name="agency")),
                ("sequence", models.BigIntegerField(verbose_name="last sequence")),
                ("hash", models.CharField(max_length=64, verbose_name="last hash")),
                ("signed_at", models.DateTimeField(verbose_name="signed at")),
                ("key_id", models.CharField(max_length=16, verbose_name="key id")),
                ("signature", models.CharField(max_length=128, verbose_name="signature")),
            ],
            options={
                "verbose_name": "audit checkpoint",
                "verbose_name_plural": "audit checkpoints",
                "ordering": ("sequence", "signed_at"),
                "indexes": [models.Index(fields=["sequence"], name="audit_checkpoint_seq_idx")],
            },
        ),
        migrations.RunPython(protect, unprotect, elidable=False),
    ]
