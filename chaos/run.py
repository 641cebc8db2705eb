"""``make chaos``: the fault-injection suite of issue 13 against a real stack on loopback.

The stack is the suite's own, thrown away at the end: a PostgreSQL cluster (``initdb`` in a
temporary directory, ``chaos.stack.PostgresCluster``), a redis-server broker, gunicorn with
``config/gunicorn.conf.py``, a Celery worker and beat (production settings plus a queue and a
mail folder of their own: ``chaos/settings.py``), and a fake SMS gateway that counts messages
by client reference and answers the status query (``chaos/gateway.py``). Cases:

1. ``broker-outage``: citizens submit applications while the broker is killed for
   ``CHAOS_OUTAGE_SECONDS`` (40); every notification must arrive once, within 10 s of the
   broker's return, and no citizen sees an error;
2. ``database-restart``: citizens list their applications while PostgreSQL is restarted
   (``pg_ctl restart -m fast``); errors must stop within 5 s of its return;
3. ``worker-kill-notifications``: the gateway kills the worker's whole process group (SIGKILL)
   the instant it receives some of the messages, before it answers; 0 duplicates;
4. ``worker-kill-certificates``: the worker is killed while it issues certificates, the instant
   a PDF exists that no row names yet (file writes are confirmed late: ``chaos/storage.py``);
   0 orphan files, every certificate issued once;
5. ``hotkeys-full``: the hot-key store is filled until it refuses writes, then freed; readiness
   and sign-in are watched; sign-in must work again without a restart.

Each case prints sent / delivered / lost / duplicated and the seconds to recover; the figures
go to ``chaos/results/latest.json`` and ``latest.md``. Every loop is bounded, everything binds
127.0.0.1. ``python chaos/run.py --only broker-outage,hotkeys-full`` runs some cases.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from chaos.gateway import Gateway, sms_gateway  # noqa: E402
from chaos.stack import (  # noqa: E402
    PostgresCluster,
    Process,
    RedisServer,
    celery_worker,
    free_port,
    wait_until,
)

PYTHON = sys.executable
RESULTS = ROOT / "chaos" / "results"
OUTAGE_SECONDS = float(os.environ.get("CHAOS_OUTAGE_SECONDS", "40"))
# An in-doubt attempt whose message the gateway had (JSON or Python-dict log lines).
FOUND_AT_GATEWAY = r"""['"]verdict['"]: ['"]delivered['"]"""
CASES = (
    "broker-outage",
    "database-restart",
    "worker-kill-notifications",
    "worker-kill-certificates",
    "hotkeys-full",
)


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
        secret = uuid.uuid4().hex
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "chaos.settings",
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "DATABASE_URL": self.pg.url("guichet"),
                "CELERY_BROKER_URL": self.redis.url,
                "GUICHET_VAR_DIR": str(self.var),
                "MEDIA_ROOT": str(self.var / "media"),
                "DJANGO_SECRET_KEY": f"chaos-only-{secret}{secret}",
                "JWT_SIGNING_KEY": f"chaos-jwt-{secret}{secret}",
                "AUDIT_SIGNING_KEY": "Y2hhb3Mtb25seS1hdWRpdC1rZXktMzItYnl0ZXMhISE=",
                "WEBHOOK_SECRET_KEY": f"chaos-webhook-{secret}",
                "CERTIFICATE_SIGNING_KEY": f"chaos-certificate-{secret}",
                "OTP_SECRET_KEY": f"chaos-otp-{secret}{secret}",
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


# --- Cases -------------------------------------------------------------------------------------


def case_broker_outage(stack: Stack) -> CaseResult:
    """Kill the broker under load for OUTAGE_SECONDS; time the delivery after its return."""
    since = stack.now()
    load = Load()
    threads = run_load(load, submitter(stack), rate=3.0, threads=3, limit=400)
    time.sleep(5)
    log(f"broker-outage: killing redis-server for {OUTAGE_SECONDS:.0f} s under load")
    stack.redis.stop()
    outage_started = time.monotonic()
    time.sleep(OUTAGE_SECONDS)
    worker_survived = stack.worker.alive
    beat_survived = stack.beat.alive
    readyz = stack.http("GET", "/readyz", host="localhost")
    stack.redis.start()
    back = time.monotonic()
    back_at = stack.now()
    log("broker-outage: redis-server is back")
    time.sleep(3)
    load.stop.set()
    for thread in threads:
        thread.join(15)

    def held_back_relayed() -> bool:
        # Published after the return: leased from then on (or already delivered).
        return stack.unrelayed(since, back_at) == 0

    def held_back_delivered() -> bool:
        rows = [r for r in stack.outbox(since, "notification") if str(r[4]) <= back_at]
        return all(r[3] != "pending" for r in rows)

    relayed_in_time = wait_until(held_back_relayed, 120, step=0.25)
    relayed = time.monotonic() - back
    delivered_in_time = wait_until(held_back_delivered, 180, step=0.25)
    delivered = time.monotonic() - back
    held_back = sum(1 for r in stack.outbox(since, "notification") if str(r[4]) <= back_at)
    wait_until(lambda: all(r[3] != "pending" for r in stack.outbox(since, "notification")), 60)
    time.sleep(2)  # a duplicate would arrive now
    figures = delivery_figures(stack, stack.outbox(since, "notification"))
    outage_errors = load.errors(after=outage_started)
    return CaseResult(
        case="broker-outage",
        sent=figures["sent"],
        delivered=figures["delivered"],
        lost=figures["lost"],
        duplicated=figures["duplicated"],
        recovery_seconds=round(relayed, 1) if relayed_in_time else None,
        target="every held-back message relayed <= 10 s after the broker's return",
        passed=bool(
            relayed_in_time
            and relayed <= 10
            and delivered_in_time
            and figures["lost"] == 0
            and figures["duplicated"] == 0
            and worker_survived
        ),
        details={
            "outage_seconds": OUTAGE_SECONDS,
            "held_back_messages": held_back,
            "all_delivered_after_return_seconds": round(delivered, 1)
            if delivered_in_time
            else None,
            "submissions": len(load.samples),
            "submission_errors_during_outage": len(outage_errors),
            "submission_p95_seconds": _p95([s[2] for s in load.samples]),
            "worker_survived": worker_survived,
            "beat_survived": beat_survived,
            "readyz_during_outage": [readyz[0], _checks(readyz[1])],
            **{k: figures[k] for k in ("unknown", "dead")},
        },
    )


def case_database_restart(stack: Stack) -> CaseResult:
    """Restart PostgreSQL under read load; time until the errors stop."""
    token = stack.state["list_token"]
    load = Load()

    def list_applications() -> int:
        return stack.http("GET", "/api/v1/applications/", token=token, timeout=5)[0]

    threads = run_load(load, list_applications, rate=20.0, threads=4, limit=100_000)
    time.sleep(5)
    log("database-restart: pg_ctl stop -m fast, then start")
    restarted = time.monotonic()
    stack.pg.stop("fast")
    stack.pg.start()
    up = time.monotonic()
    time.sleep(15)
    load.stop.set()
    for thread in threads:
        thread.join(15)
    errors_after = load.errors(after=up)
    last_error = max((s[0] for s in errors_after), default=up)
    recovery = max(0.0, last_error - up)
    total = len(load.samples)
    errors = load.errors(after=restarted)
    statuses = Counter(str(s[1]) for s in errors)
    return CaseResult(
        case="database-restart",
        sent=total,
        delivered=total - len(load.errors()),
        lost=len(load.errors()),
        duplicated=0,
        recovery_seconds=round(recovery, 1),
        target="errors back to 0 <= 5 s after PostgreSQL is back",
        passed=recovery <= 5,
        details={
            "restart_seconds": round(up - restarted, 1),
            "error_statuses": dict(statuses),
            "errors_after_database_back": len(errors_after),
            "worker_survived": stack.worker.alive,
        },
    )


def case_worker_kill_notifications(stack: Stack) -> CaseResult:
    """The gateway kills the worker the instant it receives some messages."""
    since = stack.now()
    kill_at = {2, 9, 17}
    received = 0
    kills: list[float] = []
    lock = threading.Lock()

    def on_receive(reference: str) -> None:
        nonlocal received
        with lock:
            received += 1
            if received in kill_at:
                stack.worker.kill()
                kills.append(time.monotonic())
                stack.restart_worker_later(1.0)

    stack.gateway.on_receive = on_receive
    try:
        load = Load()
        threads = run_load(load, submitter(stack), rate=4.0, threads=2, limit=20)
        for thread in threads:
            thread.join(60)
        done = wait_until(
            lambda: all(r[3] != "pending" for r in stack.outbox(since, "notification")), 180, 0.25
        )
        finished = time.monotonic()
    finally:
        stack.gateway.on_receive = None
    time.sleep(2)
    figures = delivery_figures(stack, stack.outbox(since, "notification"))
    wait_until(stack.worker_ready, 60)
    return CaseResult(
        case="worker-kill-notifications",
        sent=figures["sent"],
        delivered=figures["delivered"],
        lost=figures["lost"],
        duplicated=figures["duplicated"],
        recovery_seconds=round(finished - kills[-1], 1) if kills and done else None,
        target="0 duplicates, 0 lost",
        passed=bool(
            done
            and figures["sent"] > 0
            and kills
            and figures["duplicated"] == 0
            and figures["lost"] == 0
        ),
        details={
            "kills": len(kills),
            "in_doubt_found_at_gateway": stack.worker_log_count(FOUND_AT_GATEWAY),
            "unknown": figures["unknown"],
            "dead": figures["dead"],
        },
    )


def case_worker_kill_certificates(stack: Stack) -> CaseResult:
    """Kill the worker while it issues certificates: the instant a PDF appears that no row
    names yet (between writing the file and committing the row: the orphan-making instant),
    and at a random instant when none was caught for 15-25 s."""
    since = stack.now()
    count = int(os.environ.get("CHAOS_CERTIFICATES", "20"))
    kills = 0
    caught: list[str] = []  # files that had no row when the worker was killed
    approving = threading.Thread(
        target=stack.run, args=("-m", "chaos.seed", "approve", "--count", str(count)), daemon=True
    )
    approving.start()
    rng = random.Random(13)
    deadline = time.monotonic() + 240
    next_random_kill = time.monotonic() + rng.uniform(15.0, 25.0)
    schema = stack.state["schema"]
    names_query = f'SELECT file_path FROM "{schema}".certificates_certificate'
    # One connection for the whole watch: the window lasts milliseconds.
    seen: set[tuple[str, int]] = set()
    with stack.sql() as watch:
        while time.monotonic() < deadline and kills < 8:
            time.sleep(0.005)
            if not stack.worker.alive:
                continue
            files = stack.certificate_files()
            names = {row[0] for row in watch.execute(names_query).fetchall()} if files else set()
            # Only a file written since it was last looked at: a job is between its write and
            # its commit right now (an orphan left earlier is not a reason to kill again).
            fresh = {(name, stack.modified_ns(name)) for name in files - names} - seen
            seen |= fresh
            unrecorded = {name for name, _ in fresh}
            if not unrecorded and time.monotonic() < next_random_kill:
                continue
            pending = watch.execute(
                f'SELECT count(*) FROM "{schema}".outbox_outboxmessage '
                "WHERE kind = 'document' AND status = 'pending' AND created_at >= %s",
                [since],
            ).fetchone()[0]
            if not unrecorded and not pending:
                if not approving.is_alive():
                    break
                continue
            stack.worker.kill()  # at once: the file may be recorded any millisecond now
            kills += 1
            time.sleep(1.0)  # the killed transaction is rolled back by now
            still = unrecorded - {row[0] for row in watch.execute(names_query).fetchall()}
            caught += sorted(still)
            stack.restart_worker_later(0.0)
            next_random_kill = time.monotonic() + rng.uniform(15.0, 25.0)
    approving.join(300)
    last_kill = time.monotonic()
    done = wait_until(
        lambda: (
            (rows := stack.outbox(since, "document")) != [] and all(r[3] != "pending" for r in rows)
        ),
        240,
        0.5,
    )
    finished = time.monotonic()
    schema = stack.state["schema"]
    names = stack.certificate_names()
    with stack.sql() as connection:
        per_application = connection.execute(
            f'SELECT count(*) FROM "{schema}".certificates_certificate '
            "GROUP BY application_id HAVING count(*) > 1"
        ).fetchall()
    files = stack.certificate_files()
    orphans = sorted(files - names)
    missing = sorted(names - files)
    rows = stack.outbox(since, "document")
    wait_until(stack.worker_ready, 60)
    return CaseResult(
        case="worker-kill-certificates",
        sent=len(rows),
        delivered=len(names & files),
        lost=sum(1 for r in rows if r[3] != "sent"),
        duplicated=len(per_application),
        recovery_seconds=round(finished - last_kill, 1) if done else None,
        target="0 orphan files, one certificate per application",
        passed=bool(done and not orphans and not missing and not per_application),
        details={
            "kills": kills,
            "kills_between_file_and_row": len(caught),
            "orphan_files": len(orphans),
            "rows_without_file": len(missing),
        },
    )


def case_hotkeys_full(stack: Stack) -> CaseResult:
    """Fill the hot-key store until it refuses writes, free it, watch readiness and sign-in."""
    keys = stack.workdir / "filler-keys.txt"
    credentials = {"login": stack.state["login"], "password": stack.state["password"]}

    def sign_in() -> int:
        return stack.http("POST", "/api/v1/auth/token/", host="localhost", body=credentials)[0]

    before = sign_in()
    log("hotkeys-full: filling the hot-key store")
    fill = stack.run("-m", "chaos.seed", "hotkeys-fill", "--out", str(keys)).strip()
    readyz_full = stack.http("GET", "/readyz", host="localhost")
    sign_ins_full = [sign_in() for _ in range(5)]
    stack.run("-m", "chaos.seed", "hotkeys-free", "--keys", str(keys))
    freed = time.monotonic()
    recovered = wait_until(lambda: sign_in() == 200, 30, step=0.5)
    recovery = time.monotonic() - freed
    readyz_after = stack.http("GET", "/readyz", host="localhost")
    return CaseResult(
        case="hotkeys-full",
        sent=len(sign_ins_full),
        delivered=sum(1 for s in sign_ins_full if s == 200),
        lost=sum(1 for s in sign_ins_full if s != 200),
        duplicated=0,
        recovery_seconds=round(recovery, 1) if recovered else None,
        target="sign-in works again after the store is freed, without a restart",
        passed=bool(recovered and readyz_full[0] == 503),
        details={
            "fill": fill,
            "sign_in_before": before,
            "sign_in_while_full": sign_ins_full,
            "readyz_while_full": [readyz_full[0], _checks(readyz_full[1])],
            "readyz_after": [readyz_after[0], _checks(readyz_after[1])],
        },
    )


def _checks(body: bytes) -> Any:
    try:
        return json.loads(body).get("checks")
    except (ValueError, AttributeError):
        return None


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3)


RUNNERS: dict[str, Callable[[Stack], CaseResult]] = {
    "broker-outage": case_broker_outage,
    "database-restart": case_database_restart,
    "worker-kill-notifications": case_worker_kill_notifications,
    "worker-kill-certificates": case_worker_kill_certificates,
    "hotkeys-full": case_hotkeys_full,
}


def markdown(results: list[CaseResult], meta: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    lines = [
        f"Fault-injection run of {meta['started_at']} ({meta['seconds']} s, "
        f"{meta['cpus']} cores, load {meta['load_average_at_start']}).",
        "",
        "| case | sent | delivered | lost | duplicated | recovery (s) | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        recovery = "—" if r.recovery_seconds is None else f"{r.recovery_seconds}"
        verdict = "pass" if r.passed else "FAIL"
        lines.append(
            f"| {r.case} | {r.sent} | {r.delivered} | {r.lost} | {r.duplicated} | {recovery} "
            f"| {r.target} | {verdict} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- {r.case}: {json.dumps(r.details, sort_keys=True)}")
    return "\n".join(lines) + "\n"


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # the stack is stopped by the finally blocks


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory")
    args = parser.parse_args()
    cases = [c for c in args.only.split(",") if c]
    unknown = [c for c in cases if c not in RUNNERS]
    if unknown:
        parser.error(f"unknown cases: {unknown}")
    started = time.monotonic()
    meta: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    workdir = Path(tempfile.mkdtemp(prefix="guichet-chaos-"))
    workdir.chmod(0o711)  # PostgreSQL runs as its own user when the suite runs as root
    results: list[CaseResult] = []
    with sms_gateway() as gateway:
        stack = Stack(workdir, gateway)
        try:
            stack.up(drafts=450)
            for case in cases:
                log(f"case {case}")
                try:
                    result = RUNNERS[case](stack)
                except Exception as exc:  # a case that broke is reported, the others run
                    result = CaseResult(case=case, details={"error": repr(exc)[:500]})
                log(f"{case}: {json.dumps(asdict(result))}")
                results.append(result)
        finally:
            stack.down()
            if not args.keep:
                import shutil

                shutil.rmtree(workdir, ignore_errors=True)
            else:
                log(f"stack kept in {workdir}")
    meta["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps({**meta, "cases": [asdict(r) for r in results]}, indent=2) + "\n"
    )
    text = markdown(results, meta)
    (RESULTS / "latest.md").write_text(text)
    print(text)
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
