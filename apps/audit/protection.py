"""Append-only audit tables, enforced by PostgreSQL.

In every schema holding the audit tables (public, the agency template, every agency), row
triggers refuse UPDATE and DELETE and a statement trigger refuses TRUNCATE, whoever asks:
triggers bind superusers too. Privileges are revoked from PUBLIC, from the connecting role when
it is not a superuser, and from every other role but the table's owner (a superuser ignores
privileges, and so does the owner of the table for the privileges it grants itself back: see
docs/operations.md, "Database roles", for the production roles).

The triggers call ``public.guichet_audit_append_only()``. django-tenants' clone copies the
triggers of the template whose function lives in ``public`` (checked by the tests), and
``apps.audit.apps`` installs them again after every schema creation, so an agency never
exists without them.
"""

from __future__ import annotations

from typing import Any

PROTECTED_TABLES = ("audit_auditevent", "audit_auditcheckpoint")
TRIGGER_FUNCTION = "public.guichet_audit_append_only"

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


def protection_statements(schema: str) -> list[str]:
    """The SQL that makes the audit tables of ``schema`` append-only (idempotent)."""
    statements = [FUNCTION_SQL]
    for table in PROTECTED_TABLES:
        qualified = f"{_quote(schema)}.{_quote(table)}"
        for operation, level in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
            name = _quote(f"{table}_no_{operation.lower()}")
            statements.append(
                f"CREATE OR REPLACE TRIGGER {name} BEFORE {operation} ON {qualified} "
                f"FOR EACH {level} EXECUTE FUNCTION {TRIGGER_FUNCTION}()"
            )
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {qualified} FROM PUBLIC")
        literal = "'" + qualified.replace("'", "''") + "'"
        statements.append(ROLE_REVOKE_SQL.replace("{table_literal}", literal))
    return statements


def audit_protect_schema(cursor: Any, schema: str) -> None:
    """Install the append-only triggers and revoke the privileges in ``schema``."""
    for statement in protection_statements(schema):
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
        WHERE n.nspname = %s AND p.proname = 'guichet_audit_append_only' AND t.tgenabled <> 'D'
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
