"""The refusals of agency backups: wrong tools, wrong release, unsafe or foreign archives."""

from __future__ import annotations

import io
import json
import secrets
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from apps.agencies import backup
from apps.agencies.backup import BackupError, agency_restore, archive, postgres_tool
from apps.agencies.backup.tools import run_tool

pytestmark = pytest.mark.django_db


def _fake_tool(directory: Path, name: str, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_the_tool_of_the_servers_major_version_is_chosen_first(tmp_path, monkeypatch):
    wanted = _fake_tool(tmp_path / "configured", "pg_dump", "99.2")
    monkeypatch.setenv("GUICHET_PG_BIN_DIR", str(tmp_path / "configured"))

    assert postgres_tool("pg_dump", major=99) == wanted


def test_without_a_tool_of_the_servers_version_the_error_names_it(tmp_path, monkeypatch):
    _fake_tool(tmp_path / "old", "pg_dump", "12.9")
    monkeypatch.setenv("GUICHET_PG_BIN_DIR", str(tmp_path / "old"))
    monkeypatch.setenv("PATH", str(tmp_path / "old"))

    with pytest.raises(BackupError, match="no pg_dump of PostgreSQL 98 found"):
        postgres_tool("pg_dump", major=98)


def _archive(path: Path, manifest: dict[str, Any], extra: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w") as archive:
        members = {
            "manifest.json": json.dumps(manifest).encode(),
            "public.json": json.dumps({"owned": {}, "referenced": {}}).encode(),
            "schema.dump": b"",
            **(extra or {}),
        }
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _manifest(**changes: Any) -> dict[str, Any]:
    return {
        "format": backup.FORMAT,
        "version": backup.FORMAT_VERSION,
        "slug": "archivee",
        "schema": "archivee",
        "public_migrations": [list(item) for item in backup.public_migrations()],
        "tables": {},
        **changes,
    }


def test_a_backup_of_another_release_is_refused(tmp_path):
    manifest = _manifest(public_migrations=[["agencies", "9999_from_the_future"]])

    with pytest.raises(BackupError, match="not at the backup's release"):
        agency_restore(path=_archive(tmp_path / "a.tar", manifest))


def test_an_agency_that_exists_is_not_overwritten(tmp_path, agency_a):
    manifest = _manifest(slug="agence-a", schema="agence_a")

    with pytest.raises(BackupError, match="already exists here"):
        agency_restore(path=_archive(tmp_path / "a.tar", manifest))


@pytest.mark.parametrize("name", ["files/../../etc/passwd", "files//etc/passwd"])
def test_file_names_escaping_the_restore_directory_are_refused(tmp_path, name):
    archive = _archive(tmp_path / "a.tar", _manifest(), {name: b"x"})

    with pytest.raises(BackupError, match="unsafe file name"):
        agency_restore(path=archive)


def test_files_outside_the_agencys_prefix_are_refused(tmp_path):
    archive = _archive(tmp_path / "a.tar", _manifest(), {"files/agence_a/x.pdf": b"x"})

    with pytest.raises(BackupError, match="outside the agency's prefix"):
        agency_restore(path=archive)


def test_an_archive_of_another_kind_is_refused(tmp_path):
    with pytest.raises(BackupError, match="unknown format"):
        agency_restore(path=_archive(tmp_path / "a.tar", _manifest(format="other")))
    with tarfile.open(tmp_path / "b.tar", "w"):
        pass
    with pytest.raises(BackupError, match="missing members"):
        agency_restore(path=tmp_path / "b.tar")


def test_a_stored_file_that_differs_from_the_backup_is_replaced_an_identical_one_kept(tmp_path):
    storage = storages["default"]
    schema = f"restore_files_{secrets.token_hex(4)}"
    (tmp_path / schema).mkdir()
    (tmp_path / schema / "same.pdf").write_bytes(b"same")
    (tmp_path / schema / "changed.pdf").write_bytes(b"from the backup")
    storage.save(f"{schema}/same.pdf", ContentFile(b"same"))
    storage.save(f"{schema}/changed.pdf", ContentFile(b"damaged"))
    try:
        written, present = archive._restore_files(tmp_path, schema)

        assert (written, present) == (1, 1)
        with storage.open(f"{schema}/changed.pdf", "rb") as handle:
            assert handle.read() == b"from the backup"
    finally:
        for name in ("same.pdf", "changed.pdf"):
            storage.delete(f"{schema}/{name}")


def test_a_failing_client_tool_reports_its_error():
    with pytest.raises(BackupError, match="false failed"):
        run_tool(["false"])
