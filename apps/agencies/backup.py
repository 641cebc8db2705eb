"""One agency's backup and restore: its schema, its rows in the public schema and its files.

An agency backup is one tar file (``agency_dump``) holding:

* ``manifest.json``: format, slug, schema, when, the server's version, the public schema's
  migrations (a restore needs the same release) and what is inside;
* ``schema.dump``: ``pg_dump --format=custom --schema=<schema>`` (tables, data, sequences,
  indexes, constraints, the audit tables' triggers);
* ``public.json``: the agency's rows in the public schema, found through the foreign keys of
  the catalogue: the agency row and every row that depends on it (domains, memberships,
  partner grants, directory entries, ...), then every row those rows or the agency's schema
  refer to (people, partner clients, ...);
* ``files/<path>``: every stored file under the agency's prefix (``<schema>/``).

``agency_restore`` puts it back into a platform that does not hold the agency (an empty
database migrated by ``migrate_agencies`` with the same release, or the live platform after
the agency was lost): files first (idempotent), then one ``psql --single-transaction`` script
inserting the public rows, replaying the schema and re-installing the audit tables'
protection; a failure leaves the database as it was. Rows the agency depends on that the target
already has (the same person, by id) are kept as they are. It runs as the database owner
(``docker compose run --rm migrate ...``): it creates a schema.

pg_dump, pg_restore and psql must match the server: ``postgres_tool`` picks them among
``GUICHET_PG_BIN_DIR``, the binaries of the embedded PostgreSQL (pgserver), the Debian
directories ``/usr/lib/postgresql/<major>/bin`` and ``PATH``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import subprocess
import tarfile
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_exists

from apps.agencies import hostcache
from apps.agencies.models import Agency
from apps.audit.protection import protection_statements

logger = structlog.get_logger(__name__)

FORMAT = "guichet-agency-backup"
FORMAT_VERSION = 1
AGENCY_TABLE = "agencies_agency"


class BackupError(Exception):
    """A dump or a restore that cannot be done, with the reason for the operator."""


# --- PostgreSQL client tools ------------------------------------------------------------------


def server_major_version() -> int:
    """Major version of the PostgreSQL server Django is connected to (15, 16, ...)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _tool_major(path: Path) -> int | None:
    try:
        output = subprocess.run(  # noqa: S603 - a PostgreSQL binary found above
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\s(\d+)(?:\.\d+)?", output)
    return int(match.group(1)) if match else None


def _candidate_dirs(major: int) -> Iterator[Path]:
    configured = os.environ.get("GUICHET_PG_BIN_DIR", "")
    if configured:
        yield Path(configured)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset, harmless
            from pgserver._commands import POSTGRES_BIN_PATH

        yield Path(POSTGRES_BIN_PATH)
    except ImportError:  # the wheel is a development dependency only
        pass
    yield Path(f"/usr/lib/postgresql/{major}/bin")
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory:
            yield Path(directory)


def postgres_tool(name: str, *, major: int | None = None) -> Path:
    """The ``name`` binary (pg_dump, pg_restore, psql) of the server's major version.

    Raises ``BackupError`` naming the server's version when none is found.
    """
    major = major or server_major_version()
    seen: set[Path] = set()
    for directory in _candidate_dirs(major):
        path = directory / name
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        if _tool_major(path) == major:
            return path
    raise BackupError(
        f"no {name} of PostgreSQL {major} found (searched GUICHET_PG_BIN_DIR, the embedded "
        f"PostgreSQL, /usr/lib/postgresql/{major}/bin and PATH)"
    )


def _libpq_env() -> dict[str, str]:
    """Connection parameters of Django's database for the client tools, as libpq variables."""
    db = connection.settings_dict
    env = dict(os.environ)
    values = {
        "PGHOST": db.get("HOST") or "",
        "PGPORT": str(db.get("PORT") or ""),
        "PGUSER": db.get("USER") or "",
        "PGPASSWORD": db.get("PASSWORD") or "",
        "PGDATABASE": db.get("NAME") or "",
        "PGSSLMODE": (db.get("OPTIONS") or {}).get("sslmode") or "",
    }
    env.update({key: value for key, value in values.items() if value})
    return env


def _run(command: list[str]) -> None:
    result = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, arguments built here
        command, env=_libpq_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


# --- The public rows of an agency -------------------------------------------------------------


@dataclass(frozen=True)
class ForeignKey:
    """A single-column foreign key between two tables of the public schema, or into it."""

    table: str
    column: str
    parent: str
    parent_column: str


def _public_foreign_keys(child_schema: str) -> list[ForeignKey]:
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


def _primary_key(table: str) -> tuple[str, str]:
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
    pk, _type = _primary_key(table)
    known = {row[pk] for row in target.get(table, [])}
    new = [row for row in rows if row[pk] not in known]
    if new:
        target.setdefault(table, []).extend(new)
    return len(new)


def agency_public_rows(agency: Agency) -> PublicRows:
    """The agency's rows in the public schema and the rows they or its schema refer to."""
    public = get_public_schema_name()
    keys = _public_foreign_keys(public)
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
    for key in _public_foreign_keys(agency.schema_name):
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


# --- Files ------------------------------------------------------------------------------------


def _storage() -> Storage:
    return storages["default"]


def _walk(storage: Storage, prefix: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{prefix}/{directory}")


# --- Dump -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DumpSummary:
    """What ``agency_dump`` wrote."""

    path: Path
    schema: str
    tables: dict[str, int]
    files: int
    bytes: int


def _public_migrations() -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM public.django_migrations ORDER BY app, name")
        return [[app, name] for app, name in cursor.fetchall()]


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def agency_dump(*, slug: str, path: Path) -> DumpSummary:
    """Write the backup of the agency ``slug`` to ``path`` (created with mode 0600)."""
    agency = Agency.objects.filter(slug=slug).exclude(schema_name=get_public_schema_name()).first()
    if agency is None:
        raise BackupError(f"no agency with slug {slug!r}")
    schema = agency.schema_name
    major = server_major_version()
    pg_dump = postgres_tool("pg_dump", major=major)
    with tempfile.TemporaryDirectory() as work:
        schema_dump = Path(work) / "schema.dump"
        _run(
            [
                str(pg_dump),
                "--format=custom",
                f"--schema={schema}",
                "--no-owner",
                "--no-privileges",
                f"--file={schema_dump}",
            ]
        )
        rows = agency_public_rows(agency)
        storage = _storage()
        file_names = sorted(_walk(storage, schema))
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "slug": agency.slug,
            "schema": schema,
            "agency_id": str(agency.pk),
            "created_at": timezone.now().isoformat(),
            "server_major_version": major,
            "public_migrations": _public_migrations(),
            "tables": rows.counts(),
            "files": len(file_names),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
            public = {"owned": rows.owned, "referenced": rows.referenced}
            _add_bytes(archive, "public.json", json.dumps(public).encode())
            archive.add(schema_dump, arcname="schema.dump")
            for name in file_names:
                with storage.open(name, "rb") as handle:
                    _add_bytes(archive, f"files/{name}", handle.read())
    summary = DumpSummary(
        path=path,
        schema=schema,
        tables=rows.counts(),
        files=len(file_names),
        bytes=path.stat().st_size,
    )
    logger.info("agency_dumped", agency=schema, files=summary.files, bytes=summary.bytes)
    return summary


# --- Restore ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreSummary:
    """What ``agency_restore`` did."""

    slug: str
    schema: str
    tables: dict[str, int]
    files_written: int
    files_present: int


def _read_archive(path: Path, work: Path) -> tuple[dict[str, Any], dict[str, Any], Path]:
    try:
        archive = tarfile.open(path, mode="r")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{path} is not an agency backup: {exc}") from exc
    with archive:
        names = set(archive.getnames())
        if not {"manifest.json", "public.json", "schema.dump"} <= names:
            raise BackupError(f"{path} is not an agency backup (missing members)")

        def read(name: str) -> bytes:
            member = archive.extractfile(name)
            if member is None:
                raise BackupError(f"{path}: {name} is not a file")
            return member.read()

        manifest = json.loads(read("manifest.json"))
        if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise BackupError(f"{path}: unknown format {manifest.get('format')!r}")
        public = json.loads(read("public.json"))
        schema_dump = work / "schema.dump"
        schema_dump.write_bytes(read("schema.dump"))
        files = work / "files"
        for member in archive.getmembers():
            if not member.name.startswith("files/") or not member.isfile():
                continue
            name = member.name.removeprefix("files/")
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise BackupError(f"{path}: unsafe file name {member.name!r}")
            target = files / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read(member.name))
    return manifest, public, files


def _restore_files(files: Path, schema: str) -> tuple[int, int]:
    """Put the agency's files back (same names); (written, already present)."""
    storage = _storage()
    written = present = 0
    if not files.is_dir():
        return written, present
    for source in sorted(p for p in files.rglob("*") if p.is_file()):
        name = source.relative_to(files).as_posix()
        if not name.startswith(f"{schema}/"):
            raise BackupError(f"file {name!r} is outside the agency's prefix {schema}/")
        data = source.read_bytes()
        if storage.exists(name):
            with storage.open(name, "rb") as handle:
                same = hashlib.sha256(handle.read()).digest() == hashlib.sha256(data).digest()
            if same:
                present += 1
                continue
            storage.delete(name)
        saved = storage.save(name, ContentFile(data))
        if saved != name:
            raise BackupError(f"the storage renamed {name!r} to {saved!r}")
        written += 1
    return written, present


def _dollar_quoted(text: str) -> str:
    tag = "guichet_" + secrets.token_hex(8)
    while f"${tag}$" in text:
        tag = "guichet_" + secrets.token_hex(8)
    return f"${tag}${text}${tag}$"


def _insert_statement(table: str, rows: list[dict[str, Any]], *, owned: bool) -> str:
    pk, pk_type = _primary_key(table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [f'public."{table}"'],
        )
        columns = [name for (name,) in cursor.fetchall()]
    # Integer keys repeat between databases: rows the agency owns get new ones (nothing in
    # the public schema refers to them: _integer_keys_unreferenced checks it).
    if owned and pk_type in ("integer", "bigint", "smallint"):
        columns = [name for name in columns if name != pk]
    column_list = ", ".join(f'"{name}"' for name in columns)
    conflict = "" if owned else f' ON CONFLICT ("{pk}") DO NOTHING'
    return (
        f'INSERT INTO public."{table}" ({column_list}) SELECT {column_list} '  # noqa: S608
        f'FROM json_populate_recordset(NULL::public."{table}", {_dollar_quoted(json.dumps(rows))})'
        f"{conflict};"
    )


def _check_target(manifest: dict[str, Any]) -> None:
    slug, schema = manifest["slug"], manifest["schema"]
    if Agency.objects.filter(slug=slug).exists() or schema_exists(schema):
        raise BackupError(f"the agency {slug!r} (schema {schema}) already exists here")
    expected = {tuple(item) for item in manifest["public_migrations"]}
    present = {tuple(item) for item in _public_migrations()}
    if expected != present:
        raise BackupError(
            "the public schema here is not at the backup's release "
            f"({len(expected - present)} of its migrations missing, {len(present - expected)} "
            "more here): restore with the release that made the backup, then migrate"
        )


def _integer_keys_unreferenced(owned: dict[str, list[dict[str, Any]]]) -> None:
    referenced = {key.parent for key in _public_foreign_keys(get_public_schema_name())}
    for table in owned:
        _pk, pk_type = _primary_key(table)
        if pk_type in ("integer", "bigint", "smallint") and table in referenced:
            raise BackupError(f"public.{table} has integer keys that other rows refer to")


def agency_restore(*, path: Path) -> RestoreSummary:
    """Restore the agency backup at ``path`` into this platform (which must not hold it)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest, public, files = _read_archive(path, work)
        slug, schema = manifest["slug"], manifest["schema"]
        _check_target(manifest)
        _integer_keys_unreferenced(public["owned"])
        major = server_major_version()
        pg_restore = postgres_tool("pg_restore", major=major)
        psql = postgres_tool("psql", major=major)
        files_written, files_present = _restore_files(files, schema)
        schema_sql = work / "schema.sql"
        _run(
            [
                str(pg_restore),
                "--no-owner",
                "--no-privileges",
                f"--file={schema_sql}",
                str(work / "schema.dump"),
            ]
        )
        script = work / "restore.sql"
        with script.open("w") as out:
            out.write("\\set ON_ERROR_STOP on\nSET search_path = public;\n")
            for table, rows in public["referenced"].items():
                out.write(_insert_statement(table, rows, owned=False) + "\n")
            # The agency first: the other rows it owns refer to it.
            tables = sorted(public["owned"], key=lambda name: name != AGENCY_TABLE)
            for table in tables:
                out.write(_insert_statement(table, public["owned"][table], owned=True) + "\n")
            out.write(f"\\i {schema_sql}\n")
            out.write("SET search_path = public;\n")
            for statement in protection_statements(schema):
                out.write(statement.strip().rstrip(";") + ";\n")
        _run([str(psql), "--quiet", "--no-psqlrc", "--single-transaction", f"--file={script}"])
    # The agency and its domains were written by SQL, not the ORM: no signal told the caches.
    hostcache.clear()
    hostcache.bump_generation()
    logger.info("agency_restored", agency=schema, files=files_written + files_present)
    return RestoreSummary(
        slug=slug,
        schema=schema,
        tables=dict(manifest["tables"]),
        files_written=files_written,
        files_present=files_present,
    )
