"""Embedded defaults for the services Guichet needs, so one command runs it on a fresh machine.

Each networked service has an embedded stand-in that is used when its variable is unset:

* ``DATABASE_URL`` unset: a real PostgreSQL from the ``pgserver`` wheel, data in ``var/pg``,
  listening on a unix socket only. Its URI is exported as ``DATABASE_URL`` for child processes.
* ``CELERY_BROKER_URL`` unset: Celery's filesystem transport; its queue directories under
  ``var/celery`` must exist before a worker starts.
* ``FDB_CLUSTER_FILE`` unset: the LMDB hot-key store under ``var/hotkeys`` (created by the app).

``GUICHET_VAR_DIR`` moves ``var/`` elsewhere.

Command line::

    python scripts/services.py exec -- CMD [ARG ...]   # ensure services, run CMD, stop them
    python scripts/services.py compilemessages          # compile .po files if there are any
    python scripts/services.py stop-postgres            # stop a leftover embedded PostgreSQL

``exec`` propagates CMD's exit code (128 + signal number when CMD was killed by a signal).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# Directories searched for translation catalogues are never looked for in these.
_NOT_SOURCE_DIRS = frozenset(
    {".venv", "var", ".git", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
)


def log(message: str) -> None:
    """Print a progress line of the scripts (not the app's JSON logs) to stderr."""
    print(f"[guichet] {message}", file=sys.stderr, flush=True)


def var_dir() -> Path:
    """The directory holding every piece of local state (``GUICHET_VAR_DIR`` or ``var/``)."""
    return Path(os.environ.get("GUICHET_VAR_DIR") or BASE_DIR / "var").resolve()


def prepare_dirs() -> Path:
    """Create ``var/`` and the directories the embedded defaults write into; return ``var/``.

    The Celery filesystem transport does not create its folders, so they are made here whenever
    ``CELERY_BROKER_URL`` is unset (or explicitly ``filesystem://``).
    """
    root = var_dir()
    wanted = [root, root / "media", root / "mail"]
    if os.environ.get("CELERY_BROKER_URL", "filesystem://").startswith("filesystem"):
        celery = root / "celery"
        wanted += [celery / "queue", celery / "processed", celery / "control"]
    for directory in wanted:
        directory.mkdir(parents=True, exist_ok=True)
    return root


@dataclass
class EmbeddedPostgres:
    """A handle on the pgserver PostgreSQL under ``var/pg``.

    pgserver reference-counts the processes using one data directory (``.handle_pids.json``):
    the server is stopped when the last of them calls :meth:`stop`, so ``make run`` and
    ``make test`` may share it.
    """

    pgdata: Path
    uri: str
    _server: Any = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Release this process's handle; stops the server if no other process holds one."""
        if self._stopped:
            return
        self._stopped = True
        self._server.cleanup()
        if (self.pgdata / "postmaster.pid").exists():
            log("embedded PostgreSQL left running: another process still uses it")
        else:
            log("embedded PostgreSQL stopped")


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (a zombie, dead but not yet reaped, does not)."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _prune_stale_handles(pgdata: Path) -> None:
    """Forget processes that hold a pgserver handle but no longer exist.

    A process killed with SIGKILL never releases its handle, and pgserver would then never stop
    the server again; dropping dead pids restores the reference count.
    """
    from pgserver.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids: list[int] = json.loads(handles.read_text())
        except (OSError, ValueError):
            pids = []
        alive = [pid for pid in pids if _pid_alive(pid) and pid != os.getpid()]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def ensure_postgres() -> EmbeddedPostgres | None:
    """Start (or join) the embedded PostgreSQL when ``DATABASE_URL`` is unset.

    Exports ``DATABASE_URL`` into this process's environment so children inherit it. Returns
    None when ``DATABASE_URL`` was already set: nothing was started, nothing is to be stopped.
    """
    if os.environ.get("DATABASE_URL"):
        return None
    # pgserver logs every step at INFO; only its warnings matter here.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); harmless here.
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    pgdata = prepare_dirs() / "pg"
    pgdata.mkdir(exist_ok=True)
    _prune_stale_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    uri: str = server.get_uri()
    os.environ["DATABASE_URL"] = uri
    log(f"embedded PostgreSQL ready: {uri}")
    return EmbeddedPostgres(pgdata=pgdata, uri=uri, _server=server)


def stop_postgres() -> bool:
    """Stop the embedded PostgreSQL under ``var/pg`` if it runs, whoever started it.

    Returns True when a server was stopped. For operators cleaning up after a crash.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' XDG_RUNTIME_DIR warning, as above
        from pgserver._commands import POSTGRES_BIN_PATH

    pgdata = var_dir() / "pg"
    if not (pgdata / "postmaster.pid").exists():
        return False
    # pgserver runs the server as the "pgserver" system user when started by root.
    user = "pgserver" if os.geteuid() == 0 else None
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
    subprocess.run(command, check=True, user=user, stdout=subprocess.DEVNULL)
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    return True


def _locale_dirs_with_catalogues() -> list[Path]:
    """Every ``locale`` directory of the project that holds at least one ``.po`` file."""
    found: list[Path] = []
    for dirpath, dirnames, _filenames in os.walk(BASE_DIR):
        dirnames[:] = [name for name in dirnames if name not in _NOT_SOURCE_DIRS]
        if Path(dirpath).name == "locale":
            dirnames[:] = []
            if any(Path(dirpath).rglob("*.po")):
                found.append(Path(dirpath))
    return found


def compile_messages(env: dict[str, str] | None = None) -> int:
    """Run ``manage.py compilemessages`` when the project has translation catalogues.

    Without any ``.po`` file Django's command fails ("should be run from ... your project"),
    which must not fail ``make run`` or ``make test`` early in the project's life: it is skipped.
    Returns the command's exit code (0 when skipped).
    """
    if not _locale_dirs_with_catalogues():
        log("compilemessages: no .po files yet, skipped")
        return 0
    ignores = [f"--ignore={name}" for name in sorted(_NOT_SOURCE_DIRS)]
    command = [PYTHON, "manage.py", "compilemessages", "--verbosity=0", *ignores]
    return subprocess.run(command, cwd=BASE_DIR, env=env, check=False).returncode


def exit_code_of(returncode: int) -> int:
    """A shell-style exit status from a ``subprocess`` return code (negative = signal)."""
    return 128 - returncode if returncode < 0 else returncode


def _in_terminal_foreground() -> bool:
    """Whether this process belongs to the foreground process group of its terminal."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False


def signal_tree(pid: int, signum: int) -> None:
    """Send ``signum`` to a process and all its descendants, deepest first.

    A shell script that gets SIGTERM dies without passing it on, which would leave the command
    it was running (pytest, say) orphaned and still connected to a database about to stop.
    """
    import psutil

    try:
        parent = psutil.Process(pid)
        processes = [*reversed(parent.children(recursive=True)), parent]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def exec_with_services(command: Sequence[str]) -> int:
    """Ensure the embedded services, run ``command`` with their environment, stop them.

    SIGTERM and SIGHUP (and SIGINT when it did not come from the terminal, which already sent it
    to everyone) are passed on to the command and its descendants; this process waits for the
    command to finish before stopping PostgreSQL.
    """
    if not command:
        log("exec: no command given (usage: services.py exec -- CMD ...)")
        return 2
    prepare_dirs()
    postgres = ensure_postgres()
    try:
        child = subprocess.Popen(list(command), cwd=BASE_DIR)

        from_terminal = _in_terminal_foreground()

        def forward(signum: int, _frame: FrameType | None) -> None:
            # Ctrl-C in a terminal reaches the whole foreground group, the child included;
            # sending it a second SIGINT would cut its own clean shutdown short.
            if not (signum == signal.SIGINT and from_terminal):
                signal_tree(child.pid, signum)

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, forward)
        return exit_code_of(child.wait())
    except FileNotFoundError as error:
        log(f"exec: {error}")
        return 127
    finally:
        if postgres is not None:
            postgres.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("exec", help="ensure services, run a command, stop them")
    run_parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARG ...]")
    sub.add_parser("compilemessages", help="compile translation catalogues if any exist")
    sub.add_parser("stop-postgres", help="stop a leftover embedded PostgreSQL in var/pg")
    args = parser.parse_args(argv)

    if args.action == "exec":
        command = list(args.command)
        if command[:1] == ["--"]:
            command = command[1:]
        return exec_with_services(command)
    if args.action == "compilemessages":
        return compile_messages()
    if stop_postgres():
        log("embedded PostgreSQL stopped")
    else:
        log("embedded PostgreSQL was not running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
