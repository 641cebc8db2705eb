"""``make run``: the whole platform on one machine, on embedded defaults unless told otherwise.

Steps: ensure the services (embedded PostgreSQL when ``DATABASE_URL`` is unset, filesystem
broker directories when ``CELERY_BROKER_URL`` is unset), compile translations, migrate every
schema, seed the demo agencies and accounts, then supervise four child processes:

* ``web``: gunicorn with ``config/gunicorn.conf.py`` on 127.0.0.1:``GUICHET_PORT`` (8000);
* ``gateway``: uvicorn serving ``config.asgi`` (WebSocket ``/ws/v1/``, SSE ``/api/v1/events/``)
  on 127.0.0.1:``GUICHET_GATEWAY_PORT`` (``GUICHET_PORT`` + 1), on the embedded channel layer
  (PostgreSQL ``LISTEN/NOTIFY``) unless ``REALTIME_CHANNEL_LAYER_URL`` is set;
* ``worker``: ``celery -A config worker``;
* ``beat``: ``celery -A config beat`` with its schedule in ``var/``;
* ``payments-simulator``: the mobile-money aggregator simulator (``apps.payments.simulator``)
  on 127.0.0.1:``PAYMENTS_SIMULATOR_PORT`` (8790), unless ``PAYMENTS_AGGREGATOR_URL`` names a
  real aggregator. Demo agencies collect fees online (``manage.py payments_demo``).

Ctrl-C (SIGINT) or SIGTERM stops every child (SIGTERM, a grace period, then SIGKILL of its
whole process group) and then the embedded PostgreSQL; a second signal skips the grace period.
If a child dies on its own, the others are stopped and the exit status is non-zero. Data in
``var/`` is kept, so the next run starts where this one stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from services import (
    BASE_DIR,
    PYTHON,
    compile_messages,
    ensure_postgres,
    exit_code_of,
    log,
    prepare_dirs,
)

STOP_TIMEOUT_SECONDS = float(os.environ.get("GUICHET_STOP_TIMEOUT", "25"))
READY_TIMEOUT_SECONDS = 90.0
DEMO_HOST = "etat-civil.localhost"


class Supervisor:
    """Signal bookkeeping shared by the setup steps and the supervision loop."""

    def __init__(self) -> None:
        self.stop_requested = threading.Event()
        self.hurry = threading.Event()  # a second signal: kill without waiting

    def install(self) -> None:
        """Route SIGINT, SIGTERM and SIGHUP to :meth:`on_signal`."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """First signal: stop cleanly. Second signal: stop now."""
        if self.stop_requested.is_set():
            self.hurry.set()
            return
        log(f"{signal.Signals(signum).name} received: stopping (again to force)")
        self.stop_requested.set()


@dataclass
class Child:
    """One supervised long-running process, leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the child's whole process group (its workers included)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if run.py itself dies (Linux only).

    The children live in their own sessions, so the terminal's Ctrl-C reaches only run.py,
    which then stops them in order; this covers run.py being killed with SIGKILL.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def start_child(name: str, command: Sequence[str], env: dict[str, str]) -> Child:
    """Start one supervised process in a new session with the given environment."""
    process = subprocess.Popen(
        list(command),
        cwd=BASE_DIR,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    log(f"started {name} (pid {process.pid})")
    return Child(name=name, process=process)


def stop_children(children: Sequence[Child], supervisor: Supervisor) -> None:
    """Stop every child: SIGTERM to the leader, wait, then SIGKILL what is left of its group."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children:
        while child.process.poll() is None:
            if supervisor.hurry.is_set() or time.monotonic() >= deadline:
                log(f"{child.name} did not stop in time: killing it")
                child.signal_group(signal.SIGKILL)
                child.process.wait()
                break
            supervisor.hurry.wait(0.1)
        # Grandchildren (gunicorn or celery workers) orphaned by a dying leader go too.
        child.signal_group(signal.SIGKILL)
        log(f"{child.name} stopped ({child.process.returncode})")


def run_step(command: Sequence[str], env: dict[str, str], supervisor: Supervisor) -> int:
    """Run one setup command to completion; stop it if a stop is requested meanwhile."""
    log("$ " + " ".join(command[1:] if command[0] == PYTHON else command))
    process = subprocess.Popen(list(command), cwd=BASE_DIR, env=env)
    while process.poll() is None:
        if supervisor.stop_requested.wait(0.2) and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return exit_code_of(process.returncode)


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be bound (gunicorn would retry for seconds otherwise)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def is_healthy(port: int) -> bool:
    """Whether ``/healthz`` answers 200 on the public host."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def child_environment(port: int) -> dict[str, str]:
    """The environment of every step and child: ours plus the development defaults."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    env["PYTHONUNBUFFERED"] = "1"
    env["GUICHET_PORT"] = str(port)
    if not env.get("PAYMENTS_AGGREGATOR_URL"):  # the demo pays through the simulator
        simulator_port = env.get("PAYMENTS_SIMULATOR_PORT", "8790")
        env["PAYMENTS_AGGREGATOR_URL"] = f"http://127.0.0.1:{simulator_port}"
        env.setdefault("PAYMENTS_AGGREGATOR_TOKEN", "demo-aggregator-token")
        env.setdefault("PAYMENTS_CALLBACK_SECRET", "demo-callback-secret")
        env["PAYMENTS_SIMULATOR_PORT"] = simulator_port
    return env


def simulator_command(env: dict[str, str]) -> list[str] | None:
    """The aggregator simulator's command line, when the demo uses it (else None)."""
    port = env.get("PAYMENTS_SIMULATOR_PORT")
    if not port:
        return None
    return [
        PYTHON,
        "-m",
        "apps.payments.simulator",
        "--port",
        port,
        "--token",
        env["PAYMENTS_AGGREGATOR_TOKEN"],
        "--secret",
        env["PAYMENTS_CALLBACK_SECRET"],
        "--confirm-after",
        env.get("PAYMENTS_SIMULATOR_CONFIRM_AFTER", "5"),
        "--deliver",
    ]


def gateway_command(port: int) -> list[str]:
    """The ASGI server of the real-time gateway (also the compose ``gateway`` service's)."""
    return [
        PYTHON,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        "websockets",
        # Frames above this are refused by the protocol layer (1009); the consumer's own
        # limit (REALTIME_MAX_FRAME_BYTES) is lower.
        "--ws-max-size",
        "65536",
        "--lifespan",
        "off",
        "--no-access-log",
    ]


def supervise(port: int, env: dict[str, str], supervisor: Supervisor, launched_at: float) -> int:
    """Start web, gateway, worker and beat; return when a stop is requested or a child dies.

    ``launched_at`` (a ``time.monotonic()`` value) is when ``make run`` began, for the banner.
    """
    var = prepare_dirs()
    web_env = dict(env)
    web_env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    gateway_port = int(env.get("GUICHET_GATEWAY_PORT") or port + 1)
    # The console's pages may open the gateway on its own port (Content-Security-Policy).
    web_env.setdefault(
        "REALTIME_CONNECT_SRC",
        ",".join(
            f"{scheme}://{host}:{gateway_port}"
            for scheme in ("ws", "http")
            for host in ("localhost", "*.localhost", "127.0.0.1")
        ),
    )
    # The console's queue page opens the gateway on that port (apps/realtime/console.py).
    web_env.setdefault("REALTIME_CONSOLE_GATEWAY_PORT", str(gateway_port))
    web_env.setdefault("GUNICORN_WORKERS", "2")
    # Metrics of both gunicorn workers are aggregated through files here (emptied at start).
    web_env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(var / "prometheus"))

    schedule = str(var / "celerybeat-schedule")
    started_at = time.monotonic()
    children = [
        start_child("gateway", gateway_command(gateway_port), env),
        start_child(
            "web",
            [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
            web_env,
        ),
        start_child(
            "worker",
            [PYTHON, "-m", "celery", "-A", "config", "--quiet", "worker", "--concurrency", "2"],
            env,
        ),
        start_child(
            "beat",
            [PYTHON, "-m", "celery", "-A", "config", "--quiet", "beat", "--schedule", schedule],
            env,
        ),
    ]
    simulator = simulator_command(env)
    if simulator is not None:
        children.append(start_child("payments-simulator", simulator, env))
    ready = False
    exit_status = 0
    try:
        while not supervisor.stop_requested.is_set():
            dead = [child for child in children if child.process.poll() is not None]
            if dead:
                for child in dead:
                    log(f"{child.name} exited unexpectedly ({child.process.returncode})")
                exit_status = 1
                break
            if not ready and is_healthy(port) and is_healthy(gateway_port):
                ready = True
                now = time.monotonic()
                print(
                    f"\nGuichet is running: ready {now - launched_at:.1f} s after start"
                    f" (web up in {now - started_at:.1f} s).\n"
                    f"  open http://{DEMO_HOST}:{port}/api/docs/\n"
                    f"  public host: http://localhost:{port}/  admin: http://{DEMO_HOST}:{port}/admin/\n"
                    "  staff sign-in: the demo password, then the code of"
                    " `.venv/bin/python manage.py totp_code <login>` (second factor)\n"
                    f"  real-time gateway: ws://{DEMO_HOST}:{gateway_port}/ws/v1/"
                    f"  (SSE: http://{DEMO_HOST}:{gateway_port}/api/v1/events/)\n"
                    "  Ctrl-C stops everything; data stays in var/ for the next run.\n",
                    flush=True,
                )
            elif not ready and time.monotonic() - started_at > READY_TIMEOUT_SECONDS:
                log(f"web is not healthy after {READY_TIMEOUT_SECONDS:.0f} s: stopping")
                exit_status = 1
                break
            supervisor.stop_requested.wait(0.25 if not ready else 1.0)
    finally:
        stop_children(children, supervisor)
    return exit_status


def main() -> int:
    """Prepare, migrate, seed, supervise; stop the embedded PostgreSQL last."""
    launched_at = time.monotonic()
    port = int(os.environ.get("GUICHET_PORT", "8000"))
    if not port_is_free(port):
        log(f"127.0.0.1:{port} is already in use (another `make run`?); set GUICHET_PORT")
        return 1
    gateway_port = int(os.environ.get("GUICHET_GATEWAY_PORT") or port + 1)
    if not port_is_free(gateway_port):
        log(f"127.0.0.1:{gateway_port} is already in use; set GUICHET_GATEWAY_PORT")
        return 1
    supervisor = Supervisor()
    supervisor.install()
    prepare_dirs()
    postgres = ensure_postgres()
    try:
        env = child_environment(port)
        steps = [
            [PYTHON, "manage.py", "migrate_agencies"],
            [PYTHON, "manage.py", "seed_demo"],
            [PYTHON, "manage.py", "payments_demo"],
        ]
        status = compile_messages(env)
        for step in steps:
            if status != 0 or supervisor.stop_requested.is_set():
                break
            status = run_step(step, env, supervisor)
        if supervisor.stop_requested.is_set():
            log("stopped during setup")
            return 0
        if status != 0:
            log(f"setup failed ({status}): not starting the platform")
            return status
        return supervise(port, env, supervisor, launched_at)
    finally:
        if postgres is not None:
            postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
