"""The fault-injection suite's harness: the stack it builds and breaks, load, figures.

``Stack`` starts a PostgreSQL cluster, a redis-server, gunicorn, a Celery worker and beat of
its own (``chaos/stack.py`` processes, ``chaos/settings.py``) and reads the outcome straight
from the database, the fake SMS gateway and the mail folder; ``Load`` records requests made at
a steady rate; ``delivery_figures`` counts sent / delivered / lost / duplicated at the
providers.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from chaos.gateway import Gateway
from chaos.stack import (
    PostgresCluster,
    Process,
    RedisServer,
    celery_worker,
    free_port,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class CaseResult:
    """The figures of one case."""

    case: str
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery_seconds: float | None = None
    target: str = ""
    passed: bool = False
    details: dict[str, Any] = field(default_factory=dict)


# --- The stack -------------------------------------------------------------------------------


class Stack:
    """PostgreSQL, Redis, gunicorn, a worker and beat of the suite's own."""

    def __init__(self, workdir: Path, gateway: Gateway) -> None:
        self.workdir = workdir
        self.var = workdir / "var"
        self.pg = PostgresCluster(workdir / "pg")
        self.redis = RedisServer(workdir / "redis")
        self.gateway = gateway
        self.port = free_port()
        self.env = self._env()
        self.web = Process(
            "web",
            [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
            self.env,
            workdir / "web.log",
        )
        self.worker = celery_worker(
            # INFO: "ready." and the in-doubt verdicts are read from the worker's log.
            env={**self.env, "LOG_LEVEL": "INFO"},
            log=workdir / "worker.log",
            queue="guichet-chaos",
            concurrency=2,
        )
        self.beat = Process(
            "beat",
            [
                str(Path(self.worker.command[0])),
                "-A",
                "config",
                "beat",
                "-s",
                str(self.var / "beat-schedule"),
                "-l",
                "warning",
            ],
            self.env,
            workdir / "beat.log",
        )
        self.state: dict[str, Any] = {}
        self.drafts: Iterator[dict[str, str]] = iter(())
        self.drafts_lock = threading.Lock()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "chaos.settings",
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "DATABASE_URL": self.pg.url("guichet"),
                "CELERY_BROKER_URL": self.redis.url,
                "GUICHET_VAR_DIR": str(self.var),
                "MEDIA_ROOT": str(self.var / "media"),
                # Fresh random keys, one per purpose: production refuses weak or shared ones.
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "KEYRING_ENCRYPTION_KEY": secrets.token_urlsafe(50),
                "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
                "WEBHOOK_SECRET_KEY": secrets.token_urlsafe(50),
                "CERTIFICATE_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
                "OTP_SECRET_KEY": secrets.token_hex(32),
                "DJANGO_ALLOWED_HOSTS": ".localhost,localhost,127.0.0.1",
                "SECURE_SSL_REDIRECT": "false",
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "GUNICORN_WORKERS": os.environ.get("CHAOS_GUNICORN_WORKERS", "2"),
                "PROMETHEUS_MULTIPROC_DIR": str(self.var / "prometheus"),
                "SMS_BACKEND": "apps.notifications.sms.HTTPSMSBackend",
                "SMS_GATEWAY_URL": self.gateway.send_url,
                "SMS_GATEWAY_STATUS_URL": self.gateway.status_url,
                "HOTKEYS_LMDB_MAP_SIZE": os.environ.get("CHAOS_HOTKEYS_MAP_SIZE", "16777216"),
                "LOG_LEVEL": "WARNING",
                "THROTTLE_USER_RATE": "1000000/min",
                "THROTTLE_IP_RATE": "1000000/min",
                "THROTTLE_AGENCY_RATE": "1000000/min",
                "THROTTLE_AUTH_RATE": "1000000/min",
                "LOCKOUT_SOURCE_MAX_FAILURES": "1000000",
            }
        )
        return env

    def run(self, *args: str, timeout: float = 900) -> str:
        """A Django-side step (``manage.py ...`` or ``-m chaos.seed ...``) to completion."""
        import subprocess

        done = subprocess.run(
            [PYTHON, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
            )
        return done.stdout

    def up(self, drafts: int) -> None:
        """Start everything; migrate, seed, start web, worker, beat."""
        for folder in (self.var / "prometheus", self.var / "mail", self.var / "media"):
            folder.mkdir(parents=True, exist_ok=True)
        log(f"PostgreSQL cluster on 127.0.0.1:{self.pg.port} (initdb)")
        self.pg.init()
        with psycopg.connect(self.pg.url("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE guichet")
        log(f"redis-server on 127.0.0.1:{self.redis.port}")
        self.redis.start()
        log("migrating (migrate_agencies) and seeding")
        self.run("manage.py", "migrate_agencies")
        self.run("manage.py", "keys_rotate", "--kind", "jwt", "--if-missing")  # as compose does
        state_path = self.workdir / "state.json"
        self.run("-m", "chaos.seed", "prepare", "--out", str(state_path), "--drafts", str(drafts))
        self.state = json.loads(state_path.read_text())
        self.drafts = iter(self.state["drafts"])
        log("starting gunicorn, the worker and beat")
        self.web.start()
        self.worker.start()
        self.beat.start()
        if not wait_until(lambda: self.http("GET", "/healthz", host="localhost")[0] == 200, 120):
            raise RuntimeError(f"gunicorn not healthy; see {self.web.log}")
        if not wait_until(self.worker_ready, 120):
            raise RuntimeError(f"worker not ready; see {self.worker.log}")

    def worker_ready(self) -> bool:
        """The worker's log says it is consuming."""
        return self.worker.log.exists() and "ready." in self.worker.log.read_text(errors="replace")

    def certificate_files(self) -> set[str]:
        """Certificate PDFs on disk (names relative to the media folder)."""
        media = self.var / "media"
        folder = media / self.state["schema"] / "certificates"
        if not folder.exists():
            return set()
        return {str(p.relative_to(media)) for p in folder.rglob("*.pdf")}

    def modified_ns(self, name: str) -> int:
        """Modification time of a media file (0 if it is gone)."""
        try:
            return (self.var / "media" / name).stat().st_mtime_ns
        except OSError:
            return 0

    def certificate_names(self) -> set[str]:
        """The files the certificate rows name."""
        schema = self.state["schema"]
        with self.sql() as connection:
            query = f'SELECT file_path FROM "{schema}".certificates_certificate'
            return {row[0] for row in connection.execute(query).fetchall()}

    def worker_log_count(self, text: str) -> int:
        """How many in-doubt lines of the worker's log match the regular expression ``text``
        (JSON or Python-dict log lines)."""
        if not self.worker.log.exists():
            return 0
        lines = self.worker.log.read_text(errors="replace").splitlines()
        pattern = re.compile(text)
        return sum(
            1 for line in lines if pattern.search(line) and "outbox_attempt_in_doubt" in line
        )

    def down(self) -> None:
        """Stop every process and the database."""
        for process in (self.web, self.worker, self.beat):
            process.stop(10)
        self.redis.stop()
        self.pg.stop("immediate")

    def http(
        self,
        method: str,
        path: str,
        *,
        host: str | None = None,
        token: str | None = None,
        body: dict[str, Any] | None = None,
        timeout: float = 10,
    ) -> tuple[int, bytes]:
        """One request to gunicorn; (status, body), status 0 when no answer came."""
        headers = {"Host": host or self.state.get("host", "localhost")}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (OSError, urllib.error.URLError):
            return 0, b""

    @contextmanager
    def sql(self) -> Iterator[Any]:
        """A fresh connection to the stack's database (the database may have restarted)."""
        with psycopg.connect(self.pg.url("guichet"), autocommit=True, connect_timeout=5) as c:
            yield c

    def outbox(self, since: str, kind: str | None = None) -> list[tuple[Any, ...]]:
        """(id, kind, channel, status, created_at) of the agency's rows created since ``since``."""
        schema = self.state["schema"]
        query = (
            f"SELECT id::text, kind, payload->>'channel', status, created_at FROM \"{schema}\"."
            "outbox_outboxmessage WHERE created_at >= %s"
        )
        params: list[Any] = [since]
        if kind:
            query += " AND kind = %s"
            params.append(kind)
        with self.sql() as connection:
            return list(connection.execute(query, params).fetchall())

    def unrelayed(self, since: str, back_at: str) -> int:
        """Pending rows created before ``back_at`` not yet published after it."""
        schema = self.state["schema"]
        lease = float(self.env.get("OUTBOX_LEASE_SECONDS", "300"))
        query = (
            f'SELECT count(*) FROM "{schema}".outbox_outboxmessage WHERE kind = %s '
            "AND created_at >= %s AND created_at <= %s AND status = 'pending' "
            "AND (lease_until IS NULL OR lease_until < %s::timestamptz + make_interval(secs => %s))"
        )
        with self.sql() as connection:
            row = connection.execute(query, ["notification", since, back_at, back_at, lease])
            return int(row.fetchone()[0])

    def now(self) -> str:
        """The database's clock (rows are stamped with it)."""
        with self.sql() as connection:
            return str(connection.execute("SELECT now()").fetchone()[0])

    def mail_ids(self) -> Counter[str]:
        """How many times each outbox message id reached the mail folder (by Message-ID)."""
        counts: Counter[str] = Counter()
        pattern = re.compile(rb"^Message-ID: <([0-9a-f-]{36})@", re.MULTILINE)
        for path in (self.var / "mail").glob("*.log"):
            counts.update(m.decode() for m in pattern.findall(path.read_bytes()))
        return counts

    def restart_worker_later(self, delay: float) -> None:
        """Start the worker again after ``delay`` seconds (in a thread)."""

        def later() -> None:
            time.sleep(delay)
            if not self.worker.alive:
                self.worker.start()

        threading.Thread(target=later, daemon=True).start()


# --- Load --------------------------------------------------------------------------------------


@dataclass
class Load:
    """Requests made by a load thread: (monotonic time, status, seconds)."""

    samples: list[tuple[float, int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, seconds: float) -> None:
        with self.lock:
            self.samples.append((time.monotonic(), status, seconds))

    def errors(self, after: float = 0.0) -> list[tuple[float, int, float]]:
        return [s for s in self.samples if s[0] >= after and not 200 <= s[1] < 300]


def run_load(
    load: Load, request: Callable[[], int], *, rate: float, threads: int, limit: int
) -> list[threading.Thread]:
    """``threads`` threads calling ``request`` at about ``rate`` per second in all."""
    budget = iter(range(limit))
    budget_lock = threading.Lock()

    def loop() -> None:
        while not load.stop.is_set():
            with budget_lock:
                if next(budget, None) is None:
                    return
            started = time.monotonic()
            status = request()
            load.record(status, time.monotonic() - started)
            pause = threads / rate - (time.monotonic() - started)
            if pause > 0:
                load.stop.wait(pause)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    return workers


def submitter(stack: Stack) -> Callable[[], int]:
    """Each call submits the next draft not submitted yet (one SMS and one e-mail each)."""

    def submit() -> int:
        with stack.drafts_lock:
            draft = next(stack.drafts, None)
        if draft is None:
            return -1
        status, _ = stack.http(
            "POST", f"/api/v1/applications/{draft['id']}/submit/", token=draft["token"], body={}
        )
        return status

    return submit


def delivery_figures(stack: Stack, rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """sent / delivered / lost / duplicated of notification rows, counted at the providers."""
    sms = stack.gateway.counts
    mail = stack.mail_ids()
    sent = delivered = duplicated = 0
    for row_id, _kind, channel, _status, _created in rows:
        count = sms[row_id] if channel == "sms" else mail[row_id]
        sent += 1
        delivered += 1 if count else 0
        duplicated += max(0, count - 1)
    return {
        "sent": sent,
        "delivered": delivered,
        "lost": sent - delivered,
        "duplicated": duplicated,
        "unknown": sum(1 for r in rows if r[3] == "unknown"),
        "dead": sum(1 for r in rows if r[3] == "dead"),
    }


def checks_of(body: bytes) -> Any:
    try:
        return json.loads(body).get("checks")
    except (ValueError, AttributeError):
        return None


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3)
