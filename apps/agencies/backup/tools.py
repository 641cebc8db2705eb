"""PostgreSQL's client tools for agency backups, of the server's major version.

pg_dump, pg_restore and psql must match the server: ``postgres_tool`` picks them among
``GUICHET_PG_BIN_DIR``, the binaries of the embedded PostgreSQL (pgserver), the Debian
directories ``/usr/lib/postgresql/<major>/bin`` and ``PATH``.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

from django.db import connection


class BackupError(Exception):
    """A dump or a restore that cannot be done, with the reason for the operator."""


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


def libpq_env() -> dict[str, str]:
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


def run_tool(command: list[str]) -> None:
    """Run a client tool against Django's database; ``BackupError`` with its stderr if it fails."""
    result = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, arguments built here
        command, env=libpq_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")
