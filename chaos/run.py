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
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaos.cases import CASES, RUNNERS  # noqa: E402
from chaos.gateway import sms_gateway  # noqa: E402
from chaos.harness import CaseResult, Stack, log  # noqa: E402

RESULTS = ROOT / "chaos" / "results"


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
