"""An agency's rows in the public schema, found through the catalogue's foreign keys.

Owned rows: the agency's row and every row depending on it, transitively (domains,
memberships, partner grants, directory entries, ...). Referenced rows: what those rows or the
agency's own tables refer to (people, partner clients, ...). They are written back with
``insert_statement``: owned rows as they are, referenced rows kept when the target has them.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.agencies.backup.tools import BackupError
from apps.agencies.models import Agency

AGENCY_TABLE = "agencies_agency"


@dataclass(frozen=True)
class ForeignKey:
    """A single-column foreign key between two tables of the public schema, or into it."""

    table: str
    column: str
    parent: str
    parent_column: str


def public_foreign_keys(child_schema: str) -> list[ForeignKey]:
    """Single-column foreign keys of ``child_schema``'s tables that point to public tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname, child_column.attname, parent.relname, parent_column.attname
            FROM pg_constraint c
            JOIN pg_class child ON child.oid = c.conrelid
            JOIN pg_class parent ON parent.oid = c.confrelid
            JOIN pg_attribute child_column
              ON child_column.attrelid = c.conrelid AND child_column.attnum = c.conkey[1]
            JOIN pg_attribute parent_column
              ON parent_column.attrelid = c.confrelid AND parent_column.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
              AND child.relnamespace = %s::regnamespace
              AND parent.relnamespace = 'public'::regnamespace
            ORDER BY 1, 2
            """,
            [child_schema],
        )
        return [ForeignKey(*row) for row in cursor.fetchall()]


def primary_key(table: str) -> tuple[str, str]:
    """Column name and type of ``public.<table>``'s single-column primary key."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indrelid = %s::regclass AND i.indisprimary
            """,
            [f'public."{table}"'],
        )
        row = cursor.fetchone()
    if row is None:
        raise BackupError(f"public.{table} has no primary key")
    return row[0], row[1]


def _column_type(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname = %s",
            [f'public."{table}"', column],
        )
        return str(cursor.fetchone()[0])


def _rows(table: str, column: str, values: set[Any]) -> list[dict[str, Any]]:
    """Rows of ``public.<table>`` whose ``column`` is one of ``values`` (as JSON objects)."""
    if not values:
        return []
    # The values are cast to the column's type, not the column to text: its index is used.
    column_type = _column_type(table, column)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT row_to_json(t)::text FROM public."{table}" t '  # noqa: S608 - catalogue names
            f'WHERE t."{column}" = ANY(%s::text[]::{column_type}[])',
            [sorted(str(value) for value in values)],
        )
        return [json.loads(text) for (text,) in cursor.fetchall()]


@dataclass
class PublicRows:
    """Rows of public tables: ``owned`` belong to the agency, ``referenced`` are shared."""

    owned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    referenced: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        tables = {**self.referenced, **self.owned}
        return {table: len(tables[table]) for table in sorted(tables)}


def _add(target: dict[str, list[dict[str, Any]]], table: str, rows: list[dict[str, Any]]) -> int:
    """Add rows not already in ``target[table]`` (by primary key); the count added."""
    pk, _type = primary_key(table)
    known = {row[pk] for row in target.get(table, [])}
    new = [row for row in rows if row[pk] not in known]
    if new:
        target.setdefault(table, []).extend(new)
    return len(new)


def agency_public_rows(agency: Agency) -> PublicRows:
    """The agency's rows in the public schema and the rows they or its schema refer to."""
    public = get_public_schema_name()
    keys = public_foreign_keys(public)
    rows = PublicRows()
    _add(rows.owned, AGENCY_TABLE, _rows(AGENCY_TABLE, "id", {agency.pk}))
    # Rows depending on the agency, transitively (children of owned rows).
    changed = True
    while changed:
        changed = False
        for key in keys:
            parents = rows.owned.get(key.parent)
            if not parents or key.table == key.parent:
                continue
            values = {row[key.parent_column] for row in parents}
            changed |= _add(rows.owned, key.table, _rows(key.table, key.column, values)) > 0
    # Rows they, or the agency's own tables, refer to (parents), transitively.
    wanted: dict[tuple[str, str], set[Any]] = defaultdict(set)
    for key in public_foreign_keys(agency.schema_name):
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT DISTINCT "{key.column}"::text FROM "{agency.schema_name}"."{key.table}" '  # noqa: S608
                f'WHERE "{key.column}" IS NOT NULL'
            )
            wanted[(key.parent, key.parent_column)] |= {value for (value,) in cursor.fetchall()}
    changed = True
    while changed:
        changed = False
        for key in keys:
            for source in (rows.owned, rows.referenced):
                for row in source.get(key.table, []):
                    value = row.get(key.column)
                    if (
                        value is not None
                        and str(value) not in wanted[(key.parent, key.parent_column)]
                    ):
                        wanted[(key.parent, key.parent_column)].add(str(value))
                        changed = True
        for (table, column), values in list(wanted.items()):
            if table in rows.owned:
                continue
            changed |= _add(rows.referenced, table, _rows(table, column, values)) > 0
    return rows


def _dollar_quoted(text: str) -> str:
    tag = "guichet_" + secrets.token_hex(8)
    while f"${tag}$" in text:
        tag = "guichet_" + secrets.token_hex(8)
    return f"${tag}${text}${tag}$"


def insert_statement(table: str, rows: list[dict[str, Any]], *, owned: bool) -> str:
    """SQL inserting ``rows`` (JSON objects) into ``public.<table>``.

    Owned rows are plain inserts (a conflict stops the restore); referenced rows already in
    the target (same primary key) are left as they are.
    """
    pk, pk_type = primary_key(table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [f'public."{table}"'],
        )
        columns = [name for (name,) in cursor.fetchall()]
    # Integer keys repeat between databases: rows the agency owns get new ones (nothing in
    # the public schema refers to them: integer_keys_unreferenced checks it).
    if owned and pk_type in ("integer", "bigint", "smallint"):
        columns = [name for name in columns if name != pk]
    column_list = ", ".join(f'"{name}"' for name in columns)
    conflict = "" if owned else f' ON CONFLICT ("{pk}") DO NOTHING'
    return (
        f'INSERT INTO public."{table}" ({column_list}) SELECT {column_list} '  # noqa: S608
        f'FROM json_populate_recordset(NULL::public."{table}", {_dollar_quoted(json.dumps(rows))})'
        f"{conflict};"
    )


def integer_keys_unreferenced(owned: dict[str, list[dict[str, Any]]]) -> None:
    """Refuse owned tables with integer keys that other public rows refer to.

    Their rows get new keys on restore, which only works when nothing points at them.
    """
    referenced = {key.parent for key in public_foreign_keys(get_public_schema_name())}
    for table in owned:
        _pk, pk_type = primary_key(table)
        if pk_type in ("integer", "bigint", "smallint") and table in referenced:
            raise BackupError(f"public.{table} has integer keys that other rows refer to")
