"""A trigger recording every deactivation or deletion of a person, whatever path made it.

``apps.accounts.revocations`` reads the rows; the trigger also drops rows older than a week
(far beyond the longest token lifetime), so the table stays a few rows long. The table is
named through the schema of the table that fired, never the search path.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_user_record_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO %I.accounts_userrevocation (user_id, revoked_at) VALUES ($1, clock_timestamp())',
        TG_TABLE_SCHEMA
    ) USING OLD.id;
    EXECUTE format(
        'DELETE FROM %I.accounts_userrevocation WHERE revoked_at < clock_timestamp() - interval ''7 days''',
        TG_TABLE_SCHEMA
    );
    RETURN NULL;
END;
$$;

CREATE TRIGGER accounts_user_deactivated
AFTER UPDATE OF is_active ON accounts_user
FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
EXECUTE FUNCTION accounts_user_record_revocation();

CREATE TRIGGER accounts_user_deleted
AFTER DELETE ON accounts_user
FOR EACH ROW WHEN (OLD.is_active)
EXECUTE FUNCTION accounts_user_record_revocation();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS accounts_user_deleted ON accounts_user;
DROP TRIGGER IF EXISTS accounts_user_deactivated ON accounts_user;
DROP FUNCTION IF EXISTS accounts_user_record_revocation();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_refresh_records_and_revocations")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
