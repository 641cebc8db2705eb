"""The cases of the fault-injection suite (``chaos/run.py`` runs them; ``chaos/README.md``)."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

from chaos.harness import (
    CaseResult,
    Load,
    Stack,
    checks_of,
    delivery_figures,
    log,
    p95,
    run_load,
    submitter,
)
from chaos.stack import wait_until

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
            "submission_p95_seconds": p95([s[2] for s in load.samples]),
            "worker_survived": worker_survived,
            "beat_survived": beat_survived,
            "readyz_during_outage": [readyz[0], checks_of(readyz[1])],
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
            "readyz_while_full": [readyz_full[0], checks_of(readyz_full[1])],
            "readyz_after": [readyz_after[0], checks_of(readyz_after[1])],
        },
    )


RUNNERS: dict[str, Callable[[Stack], CaseResult]] = {
    "broker-outage": case_broker_outage,
    "database-restart": case_database_restart,
    "worker-kill-notifications": case_worker_kill_notifications,
    "worker-kill-certificates": case_worker_kill_certificates,
    "hotkeys-full": case_hotkeys_full,
}
