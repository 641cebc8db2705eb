"""Writing and reading agency backup files (``agency_dump`` / ``agency_restore``)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_exists

from apps.agencies import hostcache
from apps.agencies.backup.rows import (
    AGENCY_TABLE,
    agency_public_rows,
    insert_statement,
    integer_keys_unreferenced,
)
from apps.agencies.backup.tools import (
    BackupError,
    postgres_tool,
    run_tool,
    server_major_version,
)
from apps.agencies.models import Agency
from apps.audit.protection import protection_statements

logger = structlog.get_logger(__name__)

FORMAT = "guichet-agency-backup"
FORMAT_VERSION = 1


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


def public_migrations() -> list[list[str]]:
    """``[app, name]`` of every migration recorded in the public schema, sorted."""
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
        run_tool(
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
            "public_migrations": public_migrations(),
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


def _check_target(manifest: dict[str, Any]) -> None:
    slug, schema = manifest["slug"], manifest["schema"]
    if Agency.objects.filter(slug=slug).exists() or schema_exists(schema):
        raise BackupError(f"the agency {slug!r} (schema {schema}) already exists here")
    expected = {tuple(item) for item in manifest["public_migrations"]}
    present = {tuple(item) for item in public_migrations()}
    if expected != present:
        raise BackupError(
            "the public schema here is not at the backup's release "
            f"({len(expected - present)} of its migrations missing, {len(present - expected)} "
            "more here): restore with the release that made the backup, then migrate"
        )


def agency_restore(*, path: Path) -> RestoreSummary:
    """Restore the agency backup at ``path`` into this platform (which must not hold it)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest, public, files = _read_archive(path, work)
        slug, schema = manifest["slug"], manifest["schema"]
        _check_target(manifest)
        integer_keys_unreferenced(public["owned"])
        major = server_major_version()
        pg_restore = postgres_tool("pg_restore", major=major)
        psql = postgres_tool("psql", major=major)
        files_written, files_present = _restore_files(files, schema)
        schema_sql = work / "schema.sql"
        run_tool(
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
                out.write(insert_statement(table, rows, owned=False) + "\n")
            # The agency first: the other rows it owns refer to it.
            tables = sorted(public["owned"], key=lambda name: name != AGENCY_TABLE)
            for table in tables:
                out.write(insert_statement(table, public["owned"][table], owned=True) + "\n")
            out.write(f"\\i {schema_sql}\n")
            out.write("SET search_path = public;\n")
            for statement in protection_statements(schema):
                out.write(statement.strip().rstrip(";") + ";\n")
        run_tool([str(psql), "--quiet", "--no-psqlrc", "--single-transaction", f"--file={script}"])
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
