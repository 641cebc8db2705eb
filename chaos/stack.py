"""Real processes on loopback that a fault-injection case (or a test) may stop and kill.

* ``RedisServer``: a ``redis-server`` of its own on a free 127.0.0.1 port, no persistence
  (a restart loses everything, like a broker that crashed); ``stop()`` / ``start()`` again on
  the same port.
* ``PostgresCluster``: a throw-away PostgreSQL cluster (``initdb`` of the machine's binaries,
  ``PG_BIN`` or the newest ``/usr/lib/postgresql/*/bin``) in a temporary directory, trust auth
  on a free port; ``restart()``.
* ``Process``: one long-running child (a Celery worker, gunicorn) in its own process group,
  output to a log file; ``kill()`` sends SIGKILL to the whole group.

Everything binds 127.0.0.1 only, every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], bool], seconds: float, step: float = 0.1) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` have passed; return whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@dataclass
class RedisServer:
    """A private redis-server on a free loopback port, without persistence."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (again) on the same port; waits until it accepts connections."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=(self.directory / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_until(lambda: port_open(self.port), 10):
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Kill it (SIGKILL: a crash; its queues are lost)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def postgres_bin() -> Path:
    """Directory of ``initdb`` / ``pg_ctl``: ``PG_BIN``, else the newest installed version."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for candidate in candidates:
        if (candidate / "initdb").exists():
            return candidate
    raise RuntimeError("no PostgreSQL binaries: set PG_BIN to the directory of initdb")


def _demote() -> Callable[[], None] | None:
    """PostgreSQL refuses to run as root: run it as ``postgres`` (or nobody) then."""
    if os.geteuid() != 0:
        return None
    import pwd

    user = pwd.getpwnam("postgres")

    def demote() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return demote


@dataclass
class PostgresCluster:
    """A throw-away PostgreSQL cluster on a free loopback port (trust authentication)."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        """The URL of ``database`` as user ``postgres``."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, args: Sequence[str]) -> None:
        subprocess.run(
            list(args),
            check=True,
            preexec_fn=_demote(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    def init(self) -> None:
        """``initdb`` (owned by the server's user when run as root), then start."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._run(
            [
                str(postgres_bin() / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        self.start()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            [
                str(postgres_bin() / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.directory / "postgres.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: cut every connection, like a restart by an operator)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(
                [str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]
            )


@dataclass
class Process:
    """A long-running child in its own process group, output appended to ``log``."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        """Whether the group leader still runs."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group (the worker's pool children too)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def stop(self, seconds: float = 15) -> None:
        """SIGTERM, then SIGKILL of the group after ``seconds``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(seconds)
        self.kill()


def celery_worker(
    *, env: dict[str, str], log: Path, queue: str = "celery", concurrency: int = 1
) -> Process:
    """A real ``celery -A config worker`` (prefork) consuming ``queue``."""
    celery = str(Path(os.environ.get("VENV", BASE_DIR / ".venv")) / "bin" / "celery")
    if not Path(celery).exists():
        celery = shutil.which("celery") or celery
    return Process(
        name="worker",
        command=[
            celery,
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "-c",
            str(concurrency),
            "--without-mingle",
            "--without-gossip",
            "-l",
            "info",
        ],
        env=env,
        log=log,
    )
