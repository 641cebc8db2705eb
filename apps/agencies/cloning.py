"""Cloning the agency template schema, driven by PostgreSQL's catalogue.

django-tenants' ``clone_schema`` is a 4,600-line plpgsql function, re-created before every
clone, that inspects the catalogue object by object with queries whose cost grows with the
number of schemas in the database: about 6 s per agency with 200 agencies on 2 cores
(benches/README.md), against 0.7 s here. It also renames unique constraints
(``audit_event_sequence_unique`` became ``audit_auditevent_sequence_key``), which would break a
later migration that removes or alters them by name in every cloned agency.

``schema_clone`` asks the catalogue a handful of questions about the template, each filtered on
its namespace, and replays:

1. every table ``LIKE`` the template's (columns, defaults, identity, generated, storage);
2. every constraint under its own name, from ``pg_get_constraintdef`` (primary keys and unique
   constraints bring their indexes, named as Django named them); foreign keys to the template's
   tables are pointed at the new schema's, those to ``public`` stay on ``public``;
3. every other index (``pg_get_indexdef``) and trigger (``pg_get_triggerdef``), same names;
4. the template's rows (``django_migrations``, content types: the new schema is born migrated,
   no fake migrate is needed) and each identity sequence moved past them.

Anything else in the template (views, sequences of their own, functions, types) is refused with
``SchemaCloneError`` rather than silently left out; tests/agencies check the clone against the
template object by object.
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class SchemaCloneError(Exception):
    """The template holds something this clone does not know how to copy."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _requalify(sql: str, source: str, target: str) -> str:
    """Point the ``source.``-qualified names of a catalogue definition at ``target``."""
    return re.sub(rf"(?<![\w\"]){re.escape(source)}\.", f"{_q(target)}.", sql)


def _refuse_unknown_objects(cursor: Any, source: str) -> None:
    cursor.execute(
        "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = %s::regnamespace "
        "AND (c.relkind NOT IN ('r', 'i', 'S') OR (c.relkind = 'S' AND NOT EXISTS ("
        "SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')))",
        [source],
    )
    unknown = [f"{name} ({kind})" for name, kind in cursor.fetchall()]
    cursor.execute(
        "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = %s::regnamespace "
        "UNION ALL SELECT t.typname FROM pg_type t WHERE t.typnamespace = %s::regnamespace "
        "AND t.typtype NOT IN ('c', 'b') "
        "UNION ALL SELECT t.typname FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid "
        "WHERE t.typnamespace = %s::regnamespace AND t.typtype = 'c' AND c.relkind = 'c'",
        [source, source, source],
    )
    unknown += [row[0] for row in cursor.fetchall()]
    if unknown:
        raise SchemaCloneError(f"cannot clone {source}: unsupported objects {sorted(unknown)}")


def schema_clone(cursor: Any, *, source: str, target: str) -> None:
    """Create schema ``target`` as a copy, structure and rows, of schema ``source``.

    Runs in the caller's transaction (call it inside one: PostgreSQL DDL is transactional, so a
    failure leaves nothing behind). ``search_path`` is set to ``public`` until the transaction
    ends, so that the catalogue prints ``source``-qualified names; django-tenants sets the
    connection's own path again on its next schema switch.
    """
    if not (_PLAIN_NAME.match(source) and _PLAIN_NAME.match(target)):
        raise ValueError("schema names must be plain lowercase identifiers")
    cursor.execute("SET LOCAL search_path = public")
    _refuse_unknown_objects(cursor, source)
    cursor.execute(f"CREATE SCHEMA {_q(target)}")
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace "
        "AND c.relkind = 'r' ORDER BY c.relname",
        [source],
    )
    tables = [row[0] for row in cursor.fetchall()]
    for table in tables:
        cursor.execute(
            f"CREATE TABLE {_q(target)}.{_q(table)} (LIKE {_q(source)}.{_q(table)} "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE "
            "INCLUDING COMPRESSION INCLUDING COMMENTS)"
        )
    # Primary keys and unique constraints first: foreign keys need them.
    cursor.execute(
        "SELECT cl.relname, co.conname, pg_get_constraintdef(co.oid) "
        "FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid "
        "WHERE co.connamespace = %s::regnamespace AND co.contype IN ('p', 'u', 'x', 'c', 'f') "
        "ORDER BY CASE co.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 "
        "WHEN 'c' THEN 3 ELSE 4 END, cl.relname, co.conname",
        [source],
    )
    for table, name, definition in cursor.fetchall():
        cursor.execute(
            f"ALTER TABLE {_q(target)}.{_q(table)} ADD CONSTRAINT {_q(name)} "
            + _requalify(definition, source, target)
        )
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ic.relnamespace = %s::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid "
        "AND co.connamespace = ic.relnamespace AND co.contype IN ('p', 'u', 'x')) "
        "ORDER BY ic.relname",
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
    for table in tables:
        # Identifiers are checked plain names, quoted: nothing here comes from a user.
        source_table, target_table = f"{_q(source)}.{_q(table)}", f"{_q(target)}.{_q(table)}"
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {source_table})")  # noqa: S608
        if cursor.fetchone()[0]:
            cursor.execute(
                f"INSERT INTO {target_table} OVERRIDING SYSTEM VALUE "  # noqa: S608
                f"SELECT * FROM {source_table}"
            )
    cursor.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = %s::regnamespace AND a.attidentity <> '' AND a.attnum > 0",
        [target],
    )
    for table, column in cursor.fetchall():
        qualified = f"{_q(target)}.{_q(table)}"
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608
            f"COALESCE((SELECT max({_q(column)}) FROM {qualified}), 0) + 1, false)",
            [qualified, column],
        )
