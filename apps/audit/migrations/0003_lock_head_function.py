"""``public.guichet_audit_lock_head``: the append lock and the chain head in one round trip.

Created in the public schema (``CREATE OR REPLACE`` is idempotent, so running it again for
every tenant schema is harmless).
"""

from django.db import migrations

from apps.audit.chain import LOCK_HEAD_FUNCTION_SQL


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_hash_chain_append_only"),
    ]

    operations = [
        migrations.RunSQL(LOCK_HEAD_FUNCTION_SQL, migrations.RunSQL.noop, elidable=False),
    ]
