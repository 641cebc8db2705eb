"""A catalogue-driven schema clone: a candidate replacement for django-tenants' ``clone_schema``.

Measured by ``benches/harness/tenancy.py`` next to the real agency creation; not used by the
application. django-tenants' plpgsql ``clone_schema`` inspects the catalogue object by object
with queries whose cost grows with the number of schemas in the database, and it is re-created
(``CREATE OR REPLACE FUNCTION``, 4,600 lines) before every clone. This version asks the
catalogue a handful of questions about the template, all filtered on its namespace, and replays:

1. every table ``LIKE`` the template's (columns, defaults, identity, generated, storage);
2. every constraint, with its name, from ``pg_get_constraintdef`` (primary keys and unique
   constraints bring their indexes, under the same names Django gave them);
3. every other index from ``pg_get_indexdef``, every trigger from ``pg_get_triggerdef``;
4. the template's rows (``django_migrations``, content types: the new schema is born migrated,
   so no fake migrate is needed) and each identity sequence moved past them.

``schema_signature`` describes a schema in comparable terms (columns, constraints, indexes,
triggers, rows of the data tables) so the tenancy bench can check the two clones are the same.
"""

from __future__ import annotations

import re
from typing import Any

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _requalify(sql: str, source: str, target: str) -> str:
    """Point ``source.``-qualified names of a catalogue definition at ``target``."""
    return re.sub(rf"(?<![\w\"]){re.escape(source)}\.", f"{_q(target)}.", sql)


def fast_clone(cursor: Any, source: str, target: str) -> None:
    """Create schema ``target`` as a copy (structure and rows) of ``source``.

    Runs on ``cursor`` in the caller's transaction; ``search_path`` is set to ``public`` for
    the duration (so the catalogue prints ``source``-qualified names that can be rewritten) and
    the caller's connection must set its own again afterwards (django-tenants does on the next
    ``set_tenant``).
    """
    if not (_IDENT.match(source) and _IDENT.match(target)):
        raise ValueError("schema names must be plain identifiers")
    cursor.execute("SET LOCAL search_path = public")
    cursor.execute(f"CREATE SCHEMA {_q(target)}")
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace "
        "AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        [source],
    )
    tables = [row[0] for row in cursor.fetchall()]
    for table in tables:
        cursor.execute(
            f"CREATE TABLE {_q(target)}.{_q(table)} (LIKE {_q(source)}.{_q(table)} "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE "
            "INCLUDING COMPRESSION INCLUDING COMMENTS)"
        )
    # Constraints: primary keys and unique first (foreign keys need them), then the rest.
    cursor.execute(
        "SELECT cl.relname, co.conname, pg_get_constraintdef(co.oid), co.contype "
        "FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid "
        "WHERE co.connamespace = %s::regnamespace AND co.contype IN ('p', 'u', 'c', 'f', 'x') "
        "ORDER BY CASE co.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 "
        "WHEN 'c' THEN 3 ELSE 4 END, cl.relname, co.conname",
        [source],
    )
    for table, name, definition, _kind in cursor.fetchall():
        cursor.execute(
            f"ALTER TABLE {_q(target)}.{_q(table)} ADD CONSTRAINT {_q(name)} "
            + _requalify(definition, source, target)
        )
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class ic ON ic.oid = i.indexrelid "
        "WHERE ic.relnamespace = %s::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid "
        "AND co.connamespace = ic.relnamespace AND co.contype IN ('p', 'u', 'x'))",
        [source],
    )
    for (definition,) in cursor.fetchall():
        cursor.execute(_requalify(definition, source, target))
    cursor.execute(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal ORDER BY t.tgname",
        [source],
    )
    for (definition,) in cursor.fetchall():
        cursor.execute(_requalify(definition, source, target))
    # Rows: only the tables that have any (the planner's estimate may be stale: check).
    for table in tables:
        # Identifiers are checked plain names, quoted: not injectable.
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(source)}.{_q(table)})")  # noqa: S608
        if not cursor.fetchone()[0]:
            continue
        cursor.execute(
            f"INSERT INTO {_q(target)}.{_q(table)} OVERRIDING SYSTEM VALUE "  # noqa: S608
            f"SELECT * FROM {_q(source)}.{_q(table)}"
        )
    cursor.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = %s::regnamespace AND a.attidentity <> '' AND a.attnum > 0",
        [target],
    )
    for table, column in cursor.fetchall():
        qualified = f"{_q(target)}.{_q(table)}"
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608
            f"COALESCE((SELECT max({_q(column)}) FROM {qualified}), 0) + 1, false)",
            [qualified, column],
        )


def schema_signature(cursor: Any, schema: str) -> dict[str, Any]:
    """A comparable description of ``schema`` (names relative to it)."""
    cursor.execute("SET LOCAL search_path = public")
    out: dict[str, Any] = {}
    cursor.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "a.attidentity, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY 1, a.attnum",
        [schema],
    )
    out["columns"] = [list(row) for row in cursor.fetchall()]
    cursor.execute(
        "SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid) "
        "FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid "
        "WHERE co.connamespace = %s::regnamespace ORDER BY 1, 2",
        [schema],
    )
    out["constraints"] = [
        [table, name, kind, definition.replace(f"{schema}.", "<schema>.")]
        for table, name, kind, definition in cursor.fetchall()
    ]
    cursor.execute(
        "SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ic.relnamespace = %s::regnamespace "
        "ORDER BY 1",
        [schema],
    )
    out["indexes"] = [
        [name, definition.replace(f"{schema}.", "<schema>.")]
        for name, definition in cursor.fetchall()
    ]
    cursor.execute(
        "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %s::regnamespace "
        "AND NOT t.tgisinternal ORDER BY 1",
        [schema],
    )
    out["triggers"] = [
        [name, definition.replace(f"{schema}.", "<schema>.")]
        for name, definition in cursor.fetchall()
    ]
    rows: dict[str, int] = {}
    for table in ("django_migrations", "django_content_type"):
        cursor.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(table)}")  # noqa: S608
        rows[table] = cursor.fetchone()[0]
    out["rows"] = rows
    return out
