"""Append-only audit tables, enforced by PostgreSQL.

In every schema holding the audit tables (public, the agency template, every agency), row
triggers refuse UPDATE and DELETE and a statement trigger refuses TRUNCATE, whoever asks:
triggers bind superusers too. Privileges are revoked from PUBLIC, from the connecting role when
it is not a superuser, and from every other role but the table's owner (a superuser ignores
privileges, and so does the owner of the table for the privileges it grants itself back: see
docs/operations.md, "Database roles", for the production roles).

The triggers call ``public.guichet_audit_append_only()``, except UPDATE on the events: it calls
``public.guichet_audit_seal_once()``, which lets exactly one update through, the sealing of an
unsealed event (``sequence``, ``prev_hash``, ``hash``, ``sealed_at`` set from null, every other
column unchanged), and refuses anything else. The connecting role keeps the column privilege
for that update only. django-tenants' clone copies the
triggers of the template whose function lives in ``public`` (checked by the tests), and
``apps.audit.apps`` installs them again after every schema creation, so an agency never
exists without them.
"""

from __future__ import annotations

from typing import Any

PROTECTED_TABLES = (
    "audit_auditevent",
    "audit_auditcheckpoint",
    "audit_audittreenode",
    "audit_audittreehead",
    "audit_auditwitnesssignature",
)
TRIGGER_FUNCTION = "public.guichet_audit_append_only"
SEAL_FUNCTION = "public.guichet_audit_seal_once"
SEAL_COLUMNS = ("sequence", "prev_hash", "hash", "sealed_at")

# The one UPDATE an event may get: its sealing, once, with every other column unchanged.
SEAL_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {SEAL_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sequence IS NULL AND NEW.sequence IS NOT NULL
       AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
       AND (to_jsonb(NEW) - ARRAY[{", ".join(f"'{c}'" for c in SEAL_COLUMNS)}])
           = (to_jsonb(OLD) - ARRAY[{", ".join(f"'{c}'" for c in SEAL_COLUMNS)}])
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit table %.% is append-only: % refused',
        TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

# After the revocations: the roles that may insert events (the connecting role when it is not a
# superuser, and every role holding INSERT on the table but its owner, e.g. the application
# role of docs/operations.md) may seal them, and nothing more.
SEAL_GRANT_SQL = """
DO $$
DECLARE
    grantee_name text;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT UPDATE ({columns}) ON %s TO %I', {table_literal}, current_user);
    END IF;
    FOR grantee_name IN
        SELECT DISTINCT r.rolname
        FROM pg_class c
        CROSS JOIN LATERAL aclexplode(c.relacl) a
        JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = {table_literal}::regclass
          AND a.grantee <> c.relowner
          AND a.privilege_type = 'INSERT'
    LOOP
        EXECUTE format('GRANT UPDATE ({columns}) ON %s TO %I', {table_literal}, grantee_name);
    END LOOP;
END
$$;
"""

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {TRIGGER_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table %.% is append-only: % refused',
        TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

# Revoked from the connecting role when it is not a superuser, and from every role but the
# owner that holds them: in production the app role gets its rights from the owner's default
# privileges (deploy/postgres/roles.sql), which cannot leave these tables out.
ROLE_REVOKE_SQL = """
DO $$
DECLARE
    grantee_name text;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format(
            'REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM %I', {table_literal}, current_user
        );
    END IF;
    FOR grantee_name IN
        SELECT DISTINCT r.rolname
        FROM pg_class c
        CROSS JOIN LATERAL aclexplode(c.relacl) a
        JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = {table_literal}::regclass
          AND a.grantee <> c.relowner
          AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
    LOOP
        EXECUTE format(
            'REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM %I', {table_literal}, grantee_name
        );
    END LOOP;
END
$$;
"""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def protection_statements(
    schema: str, tables: tuple[str, ...] = PROTECTED_TABLES, *, sealing: bool = True
) -> list[str]:
    """The SQL that makes the audit tables of ``schema`` append-only (idempotent).

    ``sealing=False`` (a schema migrated only up to before the Merkle log, where events have no
    ``sealed_at`` yet): no update at all, not even the one-time sealing, and no column grant.
    """
    statements = [FUNCTION_SQL, SEAL_FUNCTION_SQL]
    for table in tables:
        qualified = f"{_quote(schema)}.{_quote(table)}"
        for operation, level in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
            name = _quote(f"{table}_no_{operation.lower()}")
            function = (
                SEAL_FUNCTION
                if sealing and (table, operation) == ("audit_auditevent", "UPDATE")
                else TRIGGER_FUNCTION
            )
            statements.append(
                f"CREATE OR REPLACE TRIGGER {name} BEFORE {operation} ON {qualified} "
                f"FOR EACH {level} EXECUTE FUNCTION {function}()"
            )
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {qualified} FROM PUBLIC")
        literal = "'" + qualified.replace("'", "''") + "'"
        statements.append(ROLE_REVOKE_SQL.replace("{table_literal}", literal))
        if sealing and table == "audit_auditevent":
            statements.append(
                SEAL_GRANT_SQL.replace("{table_literal}", literal).replace(
                    "{columns}", ", ".join(SEAL_COLUMNS)
                )
            )
    return statements


def audit_protect_schema(cursor: Any, schema: str) -> None:
    """Install the append-only triggers and revoke the privileges in ``schema``.

    Tables a migration has not created yet are skipped (the migration that creates them
    protects them), and so is the sealing grant while events have no ``sealed_at`` column (an
    earlier migration calls this too; ``0004_merkle_tree_sealing`` protects again).
    """
    present = []
    for table in PROTECTED_TABLES:
        cursor.execute("SELECT to_regclass(%s)", [f"{_quote(schema)}.{_quote(table)}"])
        if cursor.fetchone()[0] is not None:
            present.append(table)
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = %s"
        " AND table_name = 'audit_auditevent' AND column_name = 'sealed_at')",
        [schema],
    )
    sealing = bool(cursor.fetchone()[0])
    for statement in protection_statements(schema, tuple(present), sealing=sealing):
        cursor.execute(statement)


def protected_triggers(cursor: Any, schema: str) -> set[tuple[str, str]]:
    """``{(table, trigger)}`` of the append-only triggers present in ``schema``."""
    cursor.execute(
        """
        SELECT c.relname, t.tgname
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE n.nspname = %s AND t.tgenabled <> 'D'
          AND p.proname IN ('guichet_audit_append_only', 'guichet_audit_seal_once')
        """,
        [schema],
    )
    return {(table, trigger) for table, trigger in cursor.fetchall()}


def expected_triggers() -> set[tuple[str, str]]:
    """Every ``(table, trigger)`` ``audit_protect_schema`` installs."""
    return {
        (table, f"{table}_no_{operation}")
        for table in PROTECTED_TABLES
        for operation in ("update", "delete", "truncate")
    }
