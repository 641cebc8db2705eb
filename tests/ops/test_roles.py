"""deploy/postgres/roles.sql and transfer-ownership.sql on a real database of this server.

A database is built as an installation made before the roles would be (everything owned by
the superuser), then moved with the documented steps (roles, transfer, roles again). The owner
role owns everything; the app role reads and writes rows of existing schemas and of a schema
the owner creates afterwards (an agency created or restored at run time), and can create
nothing. Roles and database have names of their own and are dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from apps.agencies.backup import BackupError, postgres_tool

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "postgres"


@pytest.fixture
def database(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    try:
        with django_db_blocker.unblock():
            psql = postgres_tool("psql")
    except BackupError as exc:
        pytest.skip(str(exc))
    tag = secrets.token_hex(4)
    names = {
        "database": f"guichet_roles_{tag}",
        "owner": f"guichet_owner_{tag}",
        "app": f"guichet_app_{tag}",
        "psql": str(psql),
    }
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{names["database"]}"')
    try:
        yield names
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{names["database"]}" WITH (FORCE)')
            cursor.execute(f'DROP ROLE IF EXISTS "{names["owner"]}"')
            cursor.execute(f'DROP ROLE IF EXISTS "{names["app"]}"')


def _connect(database: str, user: str | None = None) -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings.get("HOST") or None,
        port=settings.get("PORT") or None,
        user=user or settings.get("USER") or None,
        password=(settings.get("PASSWORD") or None) if user is None else None,
        dbname=database,
        autocommit=True,
    )


def _psql(names: dict[str, str], script: Path) -> None:
    settings = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            key: str(value)
            for key, value in {
                "PGHOST": settings.get("HOST"),
                "PGPORT": settings.get("PORT"),
                "PGUSER": settings.get("USER"),
                "PGPASSWORD": settings.get("PASSWORD"),
                "PGDATABASE": names["database"],
            }.items()
            if value
        }
    )
    variables = {
        "dbname": names["database"],
        "owner": names["owner"],
        "owner_password": secrets.token_urlsafe(12),
        "app": names["app"],
        "app_password": secrets.token_urlsafe(12),
    }
    command = [names["psql"], "--no-psqlrc", "-q"]
    for key, value in variables.items():
        command += ["-v", f"{key}={value}"]
    result = subprocess.run(
        [*command, "-f", str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def _error(conn: psycopg.Connection[Any], sql: str) -> str:
    try:
        conn.execute(sql)
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]
    return ""


def test_an_old_installation_moves_to_the_owner_and_app_roles(database):
    with _connect(database["database"]) as admin:  # the superuser built everything
        admin.execute("CREATE SCHEMA agence_old")
        admin.execute("CREATE TABLE agence_old.item (id bigserial PRIMARY KEY, v text)")
        admin.execute("CREATE TABLE public.person (id uuid PRIMARY KEY, email text)")
        admin.execute("CREATE SEQUENCE agence_old.loose")
        admin.execute("CREATE FUNCTION public.answer() RETURNS int LANGUAGE sql AS 'SELECT 42'")

    for script in ("roles.sql", "transfer-ownership.sql", "roles.sql"):
        _psql(database, DEPLOY / script)

    owner, app = database["owner"], database["app"]
    with _connect(database["database"]) as admin:
        owners = dict(
            admin.execute(
                """
                SELECT n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('public', 'agence_old') AND c.relkind IN ('r', 'S')
                """
            ).fetchall()
        )
        schema_owner = admin.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'agence_old'"
        ).fetchone()
        function_owner = admin.execute(
            "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'answer'"
        ).fetchone()
        database_owner = admin.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        flags = admin.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
            "WHERE rolname IN (%s, %s)",
            [owner, app],
        ).fetchall()

    assert set(owners.values()) == {owner}, owners
    assert "agence_old.item_id_seq" in owners
    assert "agence_old.loose" in owners
    assert schema_owner == (owner,)
    assert function_owner == (owner,)
    assert database_owner == (owner,)
    assert all(flag is False for _name, *role_flags in flags for flag in role_flags)

    with _connect(database["database"], owner) as as_owner:  # an agency created later
        as_owner.execute("CREATE SCHEMA agence_new")
        as_owner.execute("CREATE TABLE agence_new.item (id bigserial PRIMARY KEY, v text)")

    with _connect(database["database"], app) as as_app:
        for name in ("agence_old", "agence_new"):
            schema = sql.Identifier(name)
            as_app.execute(sql.SQL("INSERT INTO {}.item (v) VALUES ('a')").format(schema))
            as_app.execute(sql.SQL("UPDATE {}.item SET v = 'b'").format(schema))
            rows = as_app.execute(sql.SQL("SELECT v FROM {}.item").format(schema)).fetchall()
            assert rows == [("b",)]
            as_app.execute(sql.SQL("DELETE FROM {}.item").format(schema))
        assert as_app.execute("SELECT public.answer()").fetchone() == (42,)
        assert "permission denied" in _error(as_app, "CREATE SCHEMA intruder")
        assert "permission denied" in _error(as_app, "CREATE TABLE public.intruder (id int)")
        assert "permission denied" in _error(as_app, "CREATE TABLE agence_new.intruder (id int)")
        assert "must be owner" in _error(as_app, "ALTER TABLE agence_new.item ADD COLUMN x int")
        assert "permission denied" in _error(as_app, "TRUNCATE agence_new.item")
