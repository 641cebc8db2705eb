"""The processes under test, all on loopback: bench database, broker, gunicorn, Celery worker.

* PostgreSQL: the server of ``DATABASE_URL`` (``make bench`` runs under ``scripts/services.py
  exec``, which starts the embedded one when it is unset), but a database of its own
  (``BENCH_DATABASE_URL``, default: the same URL with the database ``<name>_bench``, or
  ``guichet_bench`` for the embedded ``postgres`` database) so a bench never touches
  development data.
* Broker: ``CELERY_BROKER_URL`` when set; otherwise a ``redis-server`` started on a free
  loopback port when the binary exists; otherwise Celery's filesystem transport.
* gunicorn: ``config/gunicorn.conf.py`` with production settings (``benches.harness.settings``)
  and bench-only secrets; logs in ``<var>/bench/logs``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from benches.harness.config import ROOT

PYTHON = sys.executable


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def var_dir() -> Path:
    """The bench's own state directory: ``<GUICHET_VAR_DIR or var>/bench``."""
    base = Path(os.environ.get("GUICHET_VAR_DIR") or ROOT / "var").resolve()
    path = base / "bench"
    subdirectories = ("logs", "sms", "mail", "media", "celery/queue", "celery/processed")
    for sub in (*subdirectories, "celery/control"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (within ``BENCH_PORTS=LOW-HIGH`` when set)."""
    ports = os.environ.get("BENCH_PORTS", "").strip()
    if ports:
        low, _, high = ports.partition("-")
        for candidate in range(int(low), int(high or low) + 1):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind(("127.0.0.1", candidate))
                except OSError:
                    continue
                return candidate
        raise SystemExit(f"no free port in BENCH_PORTS={ports}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- PostgreSQL ----------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def bench_database_url() -> str:
    """``BENCH_DATABASE_URL``, or ``DATABASE_URL`` pointed at a database of the bench's own."""
    explicit = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "").strip()
    if not base:
        raise SystemExit("DATABASE_URL is not set: run the bench through `make bench`")
    name = urlsplit(base).path.lstrip("/") or "postgres"
    bench_name = "guichet_bench" if name == "postgres" else f"{name}_bench"
    return _with_database(base, bench_name)


def ensure_database(url: str) -> bool:
    """Create the bench database if it does not exist. True when it was created."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def drop_database(url: str) -> None:
    """Drop the bench database (``--reset-db``: after migrations were rewritten in place)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_version(url: str) -> str:
    """``server_version`` of the bench database's server."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# --- Broker --------------------------------------------------------------------------------


@dataclass
class Broker:
    """The Celery broker of the run and how it came to be."""

    url: str
    kind: str  # "configured", "redis-server started by the bench", "filesystem transport"
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """Stop the redis-server this bench started (nothing otherwise)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_broker(var: Path) -> Broker:
    """``CELERY_BROKER_URL``, else a private redis-server, else the filesystem transport."""
    configured = os.environ.get("CELERY_BROKER_URL", "").strip()
    if configured:
        return Broker(url=configured, kind=f"configured ({urlsplit(configured).scheme})")
    binary = shutil.which("redis-server")
    if binary:
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(var),
                "--logfile",
                str(var / "logs" / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return Broker(
                    url=f"redis://127.0.0.1:{port}/0",
                    kind="redis-server started by the bench",
                    process=process,
                )
            time.sleep(0.05)
        process.kill()
        log("redis-server did not start: using the filesystem transport")
    return Broker(url="filesystem://", kind="filesystem transport")


# --- Environment of the processes under test ------------------------------------------------


def _bench_secret(name: str) -> str:
    """A fixed, public, bench-only secret (never a production value)."""
    return base64.b64encode(hashlib.sha256(f"guichet-bench-{name}".encode()).digest()).decode()


UNLIMITED_RATE = "1000000000/min"


def child_environment(*, database_url: str, broker: Broker, var: Path) -> dict[str, str]:
    """Production settings with bench-only secrets, on the bench database and broker.

    Throttle rates are set so high that nothing is refused, but every request still counts
    itself in the hot-key store as in production.
    """
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "benches.harness.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker.url,
            "GUICHET_VAR_DIR": str(var),
            "DJANGO_SECRET_KEY": "bench-only-" + _bench_secret("django") * 2,
            "KEYRING_ENCRYPTION_KEY": _bench_secret("jwt") * 2,
            "AUDIT_SIGNING_KEY": _bench_secret("audit"),
            "WEBHOOK_SECRET_KEY": _bench_secret("webhook"),
            "CERTIFICATE_SIGNING_KEY": _bench_secret("certificate"),
            "OTP_SECRET_KEY": _bench_secret("otp") * 2,
            "DJANGO_ALLOWED_HOSTS": ".localhost,localhost,127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SMS_BACKEND": "apps.notifications.sms.FileSMSBackend",
            "SMS_FILE_DIR": str(var / "sms"),
            # Tokens minted by the seed must outlive the run.
            "JWT_ACCESS_LIFETIME_SECONDS": "14400",
        }
    )
    for scope in ("USER", "IP", "AGENCY", "PARTNER"):
        env.setdefault(f"THROTTLE_{scope}_RATE", UNLIMITED_RATE)
    # The bench's processes must not share the developer's Prometheus directory.
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` with the bench environment; output captured."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def run_module(
    env: dict[str, str], module: str, *args: str, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m <module> <args>`` with the bench environment; stdout captured (JSON)."""
    result = subprocess.run(
        [PYTHON, "-m", module, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"python -m {module} {' '.join(args)} failed ({result.returncode})")
    return result


# --- Long-running children ---------------------------------------------------------------------


@dataclass
class Child:
    """A process group started by the bench (gunicorn master and workers, Celery worker)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] | None = field(default=None, repr=False)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the group, then SIGKILL what is left after ``timeout``."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop in {timeout:.0f} s: killing it")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        if self._log is not None:
            self._log.close()


def start_child(name: str, command: list[str], env: dict[str, str], var: Path) -> Child:
    """Start ``command`` in its own session, output appended to ``<var>/logs/<name>.log``."""
    log_path = var / "logs" / f"{name}.log"
    handle = log_path.open("ab")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Child(name=name, process=process, log_path=log_path, _log=handle)


def http_status(url: str, host: str, timeout: float = 2.0) -> int | None:
    """The status of ``GET url`` with a ``Host`` header, or None when nothing answers."""
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def start_gunicorn(env: dict[str, str], var: Path, *, workers: int = 0) -> tuple[Child, int]:
    """gunicorn with ``config/gunicorn.conf.py`` on a free port; returns when it is healthy."""
    port = free_port()
    web_env = dict(env)
    web_env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    if workers:
        web_env["GUNICORN_WORKERS"] = str(workers)
    command = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
    child = start_child("gunicorn", command, web_env, var)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            code = child.process.returncode
            raise RuntimeError(f"gunicorn exited ({code}); see {child.log_path}")
        if http_status(f"http://127.0.0.1:{port}/healthz", "localhost") == 200:
            break
        time.sleep(0.2)
    else:
        child.stop()
        raise RuntimeError(f"gunicorn not healthy after 90 s; see {child.log_path}")
    expected = workers or gunicorn_workers(web_env)
    seen = wait_for_workers(port, expected, deadline=time.monotonic() + 60)
    if seen < expected:
        log(f"only {seen} of {expected} gunicorn workers answered within 60 s")
    return child, port


def gunicorn_workers(env: dict[str, str]) -> int:
    """The number of workers ``config/gunicorn.conf.py`` gives under ``env``."""
    code = "import runpy; print(runpy.run_path('config/gunicorn.conf.py')['workers'])"
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        return int(out.stdout.strip())
    except ValueError:
        return 1


def wait_for_workers(port: int, expected: int, *, deadline: float) -> int:
    """Call the floor concurrently until ``expected`` distinct workers answered (they import
    the application after the fork, so the first healthy answer is not the last worker)."""
    import concurrent.futures
    import json

    pids: set[int] = set()

    def one() -> int | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/bench/floor", headers={"Host": "localhost"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(json.loads(response.read())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * expected) as pool:
        while len(pids) < expected and time.monotonic() < deadline:
            for pid in pool.map(lambda _: one(), range(4 * expected)):
                if pid is not None:
                    pids.add(pid)
            time.sleep(0.1)
    return len(pids)


def start_celery_worker(env: dict[str, str], var: Path, *, concurrency: int) -> Child:
    """A real Celery worker (prefork) on the bench queue, with the bench tasks loaded."""
    command = [
        PYTHON, "-m", "celery", "-A", "config", "worker",
        "--concurrency", str(concurrency),
        "--loglevel", "WARNING",
        "--include", "benches.harness.tasks",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"bench-{os.getpid()}@%h",
    ]  # fmt: skip
    return start_child("celery", command, env, var)


@contextlib.contextmanager
def running(child: Child) -> Iterator[Child]:
    """Stop ``child`` when the block ends, whatever happens."""
    try:
        yield child
    finally:
        child.stop()


def run_command(env: dict[str, str], command: list[str]) -> str:
    """Run a command with the bench environment; its output (it must succeed)."""
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


# --- CPU accounting ----------------------------------------------------------------------------


@dataclass
class CpuMeter:
    """CPU seconds used by the server's process tree and by the bench database's backends.

    On a shared machine, wall-clock throughput moves with everybody else's load; the CPU time
    the server spends per request moves much less, so the report gives both. Workers recycled
    during a phase are counted through the master's ``children_*`` times.
    """

    master_pid: int
    database: str

    def sample(self) -> tuple[float, dict[int, float]]:
        """(server CPU seconds so far, {database backend pid: CPU seconds so far})."""
        import psutil

        server = 0.0
        try:
            master = psutil.Process(self.master_pid)
            times = master.cpu_times()
            server += times.user + times.system + times.children_user + times.children_system
            for child in master.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    t = child.cpu_times()
                    server += t.user + t.system
        except psutil.Error:
            pass
        backends: dict[int, float] = {}
        marker = f" {self.database} "
        for process in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                cmdline = " ".join(process.info["cmdline"] or []) + " "
                if cmdline.startswith("postgres: ") and marker in cmdline:
                    t = process.cpu_times()
                    backends[process.pid] = t.user + t.system
        return server, backends

    @staticmethod
    def database_delta(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU the backends used between two samples (a backend that exited in between is
        missed for its last part: an underestimate, never negative)."""
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
