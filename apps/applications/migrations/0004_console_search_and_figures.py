"""The console's accent-insensitive search and its processing-time figures.

``unaccent`` is created once per database, in the public schema (on every agency's search
path): ``IF NOT EXISTS ... SCHEMA public`` makes it the same whichever agency migrates first.
It is a trusted extension (PostgreSQL 13+), so the owner of the database may create it
without superuser rights.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("applications", "0003_service_clock")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public", migrations.RunSQL.noop
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["decided_at"], name="applications_decided_idx"),
        ),
    ]
