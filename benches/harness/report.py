"""Targets, verdicts, ``benches/results/latest.json`` and the Markdown table.

The targets (issue 7) are reported, never enforced by a timed test: a shared 2-core machine is
too noisy for that. Each verdict compares figures of the same run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

API_ENDPOINTS = ("services", "me", "staff", "submit", "approve")
TARGETS = {
    "staff_ratio": 0.35,  # staff list throughput / floor throughput
    "p95_closed_ms": 25.0,  # at 32 connections, closed loop
    "p95_rate_ms": 100.0,  # at 256 connections, 70 % of the maximum
    "round_trips": 3,  # SQL statements per request
    "search_path_sets": 1,
    "agency_create_s": 2.0,
    "migrate_up_to_date_s": 15.0,
    "storage_p95_ratio": 2.0,  # S3 (moto on loopback) p95 / filesystem p95, 2 MiB documents
    "payment_initiation_p95_ms": 100.0,  # issue 19, at 70 % of the maximum rate
    "payment_callbacks_per_second": 200.0,  # issue 19, signed callbacks settled
    "submit_ratio": 0.15,  # submit throughput / floor throughput (issue 17)
    "two_agencies_ratio": 1.8,  # two agencies written at once / one agency alone
    "sealing_backlog_s": 2.0,  # oldest unsealed audit event, at the maximum submit rate
    "write_round_trips": 12,  # submit, staff decision
}


def _ok(passed: bool | None) -> str:
    return "n/a" if passed is None else ("PASS" if passed else "MISS")


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: what was measured, against what, pass or miss."""
    rows: list[dict[str, Any]] = []
    http = results.get("http", {})
    floor = http.get("floor", {}).get("closed")
    staff = http.get("staff", {}).get("closed")
    if floor and staff:
        ratio = staff["rps"] / floor["rps"] if floor["rps"] else 0.0
        rows.append(
            {
                "target": "staff list throughput ≥ 0.35 × floor",
                "measured": f"{ratio:.2f} × ({staff['rps']:.0f} / {floor['rps']:.0f} req/s)",
                "passed": ratio >= TARGETS["staff_ratio"],
            }
        )
    submit = http.get("submit", {}).get("closed")
    if floor and submit:
        ratio = submit["rps"] / floor["rps"] if floor["rps"] else 0.0
        rows.append(
            {
                "target": "submit throughput ≥ 0.15 × floor",
                "measured": f"{ratio:.2f} × ({submit['rps']:.0f} / {floor['rps']:.0f} req/s)",
                "passed": ratio >= TARGETS["submit_ratio"],
            }
        )
    pair = http.get("two_agencies", {})
    if submit and pair.get("total_rps"):
        ratio = pair["total_rps"] / submit["rps"] if submit["rps"] else 0.0
        rows.append(
            {
                "target": "two agencies at once ≥ 1.8 × one",
                "measured": (
                    f"{ratio:.2f} × ({pair['a']['rps']:.0f} + {pair['b']['rps']:.0f} / "
                    f"{submit['rps']:.0f} req/s)"
                ),
                "passed": ratio >= TARGETS["two_agencies_ratio"],
            }
        )
    sealing = http.get("submit", {}).get("sealing") or {}
    if sealing.get("events"):
        worst = max(sealing.get("backlog_max_s") or 0.0, sealing.get("wait_max_s") or 0.0)
        rows.append(
            {
                "target": "sealing keeps up: unsealed backlog < 2 s during the submit runs",
                "measured": (
                    f"backlog max {sealing.get('backlog_max_s')} s, wait p99 "
                    f"{sealing.get('wait_p99_s')} s, max {sealing.get('wait_max_s')} s over "
                    f"{sealing['events']} events ({sealing['unsealed_after']} left unsealed)"
                ),
                "passed": worst < TARGETS["sealing_backlog_s"] and not sealing["unsealed_after"],
            }
        )
    for name in API_ENDPOINTS:
        cell = http.get(name, {})
        if "closed" in cell:
            p95 = cell["closed"]["p95_ms"]
            rows.append(
                {
                    "target": f"{name}: p95 ≤ 25 ms at {cell['closed']['connections']} connections",
                    "measured": f"{p95:.1f} ms",
                    "passed": p95 <= TARGETS["p95_closed_ms"],
                }
            )
        if "rate" in cell:
            rate = cell["rate"]
            rows.append(
                {
                    "target": (
                        f"{name}: p95 < 100 ms at {rate['connections']} connections, "
                        f"{rate['target_rps']:.0f} req/s"
                    ),
                    "measured": f"{rate['p95_ms']:.1f} ms (achieved {rate['rps']:.0f} req/s)",
                    "passed": rate["p95_ms"] < TARGETS["p95_rate_ms"],
                }
            )
    for name, cell in results.get("round_trips", {}).get("endpoints", {}).items():
        health = f", {cell['health_checks']} health check" if cell["health_checks"] else ""
        rows.append(
            {
                "target": f"{name}: ≤ 3 SQL round trips, 1 search_path change",
                "measured": (
                    f"{cell['round_trips']} round trips ({cell['statements']} statements"
                    f"{health}), {cell['search_path_sets']} SET search_path"
                ),
                "passed": cell["round_trips"] <= TARGETS["round_trips"]
                and cell["search_path_sets"] <= TARGETS["search_path_sets"],
            }
        )
    tenancy = results.get("tenancy", {})
    if "agency_create_s" in tenancy:
        rows.append(
            {
                "target": "agency creation ≤ 2 s",
                "measured": f"{tenancy['agency_create_s']:.2f} s (median)",
                "passed": tenancy["agency_create_s"] <= TARGETS["agency_create_s"],
            }
        )
    if "migrate_up_to_date_s" in tenancy:
        rows.append(
            {
                "target": f"migrate {tenancy['agencies']} up-to-date agencies ≤ 15 s",
                "measured": f"{tenancy['migrate_up_to_date_s']:.2f} s",
                "passed": tenancy["migrate_up_to_date_s"] <= TARGETS["migrate_up_to_date_s"]
                if tenancy["agencies"] >= 200
                else None,
            }
        )
    payments = results.get("payments", {})
    if payments:
        paced = payments["initiation"]["at_70_percent"]
        rows.append(
            {
                "target": "payment initiation p95 < 100 ms at 70 % of the maximum rate",
                "measured": f"{paced['p95_ms']} ms at {paced['achieved_rps']}/s",
                "passed": paced["p95_ms"] < TARGETS["payment_initiation_p95_ms"],
            }
        )
        first, again = payments["callbacks"], payments["duplicate_callbacks"]
        rows.append(
            {
                "target": "authenticated callbacks ≥ 200/s",
                "measured": f"{first['rps']}/s first, {again['rps']}/s duplicates",
                "passed": first["rps"] >= TARGETS["payment_callbacks_per_second"],
            }
        )
    certificate = results.get("celery", {}).get("certificate")
    if certificate:
        latency = certificate["latency_ms"]
        rows.append(
            {
                "target": "certificate issued through a worker (render, sign, store): p95 ≤ 1 s",
                "measured": (
                    f"{latency['p95']:.0f} ms (median {latency['median']:.0f} ms); "
                    f"{certificate['per_second']:.1f} certificates/s"
                ),
                "passed": latency["p95"] <= 1000,
            }
        )
    gateway = results.get("gateway", {})
    if gateway:
        p95 = gateway.get("latency", {}).get("p95_ms")
        rows.append(
            {
                "target": "gateway: commit-to-client p95 < 100 ms at 100 events/s",
                "measured": f"{p95} ms",
                "passed": None if p95 is None else p95 < 100,
            }
        )
        lost = gateway.get("storm", {}).get("events_lost")
        rows.append(
            {
                "target": "gateway: reconnect storm loses 0 events",
                "measured": str(lost),
                "passed": None if lost is None else lost == 0,
            }
        )
    storage = results.get("storage", {})
    for backend, op in (("s3", "upload"), ("s3", "download"), ("s3-redirect", "download")):
        fs, s3 = storage.get("filesystem", {}).get(op, {}), storage.get(backend, {}).get(op, {})
        if fs.get("p95_ms") and s3.get("p95_ms"):
            ratio = s3["p95_ms"] / fs["p95_ms"]
            rows.append(
                {
                    "target": f"2 MiB {op}: {backend} p95 ≤ 2 × filesystem p95",
                    "measured": f"{ratio:.2f} × ({s3['p95_ms']:.0f} / {fs['p95_ms']:.0f} ms)",
                    "passed": ratio <= TARGETS["storage_p95_ratio"]
                    and not (fs.get("errors") or s3.get("errors")),
                }
            )
    return rows


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _errors(phase: dict[str, Any]) -> str:
    """The error count, with wrk's kinds when there are any (``12 (read 12)``)."""
    kinds = phase.get("error_kinds") or {}
    if not phase["errors"] or not kinds:
        return str(phase["errors"])
    return f"{phase['errors']} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})"


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(results: dict[str, Any]) -> str:
    """The Markdown report of one run."""
    lines: list[str] = []
    machine = results.get("machine", {})
    server = results.get("server", {})
    lines.append(f"# Guichet benchmarks — {results.get('started_at', '')}")
    lines.append("")
    if results.get("quick"):
        lines.append("**Quick run (development): these figures are not to be quoted.**")
        lines.append("")
    if results.get("label"):
        lines.append(f"Label: {results['label']}")
        lines.append("")
    lines.append(
        f"Machine: {machine.get('cpus')} CPU ({machine.get('cpu_model')}), load average at start "
        f"{machine.get('load_average_at_start')}, Python {machine.get('python')}, PostgreSQL "
        f"{results.get('postgres')}; broker: {results.get('broker')}; load generator: "
        f"{results.get('load_generator', '-')}."
    )
    if server:
        pool = server.get("database_pool")
        lines.append(
            f"Server: gunicorn {server.get('workers')} workers × {server.get('threads')} threads "
            f"({server.get('worker_class')}, preload {server.get('preload_app')}, max_requests "
            f"{server.get('max_requests')}); database: "
            + (
                f"pool (max {pool.get('max_size')} per process)"
                if pool
                else f"persistent connections (CONN_MAX_AGE {server.get('conn_max_age')}, "
                f"health checks {server.get('conn_health_checks')})"
            )
            + f"; stateless token users: {server.get('stateless_users')}."
        )
    lines.append("")
    http = results.get("http", {})
    if http:
        floor_rps = http.get("floor", {}).get("closed", {}).get("rps") or 0
        lines.append("## HTTP")
        lines.append("")
        lines.append(
            "| endpoint | req/s (closed) | × floor | p50 ms | p95 ms | p99 ms | errors "
            "| server CPU ms/req | DB CPU ms/req "
            "| fixed rate req/s (target) | p50 ms | p95 ms | p99 ms | errors |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for cell in http.values():
            if "closed" not in cell and "skipped" not in cell:
                continue  # the two-agency run and the like: their own lines below
            if "skipped" in cell:
                lines.append(f"| {cell['label']} | skipped: {cell['skipped']} |" + " |" * 12)
                continue
            closed, rate = cell["closed"], cell["rate"]
            ratio = f"{closed['rps'] / floor_rps:.2f}" if floor_rps else "-"
            lines.append(
                f"| {cell['label']} | {closed['rps']:.0f} | {ratio} | {_ms(closed['p50_ms'])} "
                f"| {_ms(closed['p95_ms'])} | {_ms(closed['p99_ms'])} | {_errors(closed)} "
                f"| {_cpu(closed.get('server_cpu_ms'))} | {_cpu(closed.get('database_cpu_ms'))} "
                f"| {rate['rps']:.0f} ({rate['target_rps']:.0f}) | {_ms(rate['p50_ms'])} "
                f"| {_ms(rate['p95_ms'])} | {_ms(rate['p99_ms'])} | {_errors(rate)} |"
            )
        first = next((c for c in http.values() if "closed" in c), None)
        if first:
            lines.append("")
            lines.append(
                f"Closed loop: {first['closed']['connections']} connections; fixed rate: "
                f"{first['rate']['connections']} connections at "
                f"{results['config']['rate_fraction']:.0%} of the closed-loop throughput "
                f"({first['rate']['generator']})."
            )
        lines.append("")
    pair = http.get("two_agencies", {}) if http else {}
    if pair.get("total_rps"):
        lines.append(
            f"Two agencies at once (closed loop, {pair['a']['connections']} connections each): "
            f"{pair['a']['rps']:.0f} + {pair['b']['rps']:.0f} = {pair['total_rps']:.0f} req/s "
            f"(p95 {_ms(pair['a']['p95_ms'])} / {_ms(pair['b']['p95_ms'])} ms, errors "
            f"{pair['a']['errors']} / {pair['b']['errors']})."
        )
        lines.append("")
    for name in ("submit", "approve"):
        sealing = (http or {}).get(name, {}).get("sealing")
        if sealing:
            lines.append(
                f"Audit sealing during {name} (`manage.py audit_seal --loop` beside the server): "
                f"{sealing.get('events')} events, wait from commit-time to sealed p50 "
                f"{sealing.get('wait_p50_s')} s, p99 {sealing.get('wait_p99_s')} s, max "
                f"{sealing.get('wait_max_s')} s; oldest unsealed event sampled every 0.2 s: max "
                f"{sealing.get('backlog_max_s')} s; left unsealed {sealing.get('unsealed_after')}."
            )
            lines.append("")
    trips = results.get("round_trips", {})
    if trips:
        lines.append("## SQL round trips per request (in-process, same settings)")
        lines.append("")
        lines.append("| endpoint | round trips | statements | SET search_path | health checks |")
        lines.append("|---|---:|---:|---:|---:|")
        cells = dict(trips.get("endpoints", {}))
        if trips.get("submit"):
            cells["submit (write: budget 12)"] = trips["submit"]
        for name, cell in cells.items():
            lines.append(
                f"| {name} | {cell['round_trips']} | {cell['statements']} "
                f"| {cell['search_path_sets']} | {cell['health_checks']} |"
            )
        lines.append("")
        lines.append(
            "Round trips = every statement psycopg sent for the request, after warm-up "
            "(queries, `SET search_path`, transaction control, health checks)."
        )
        lines.append("")
    tenancy = results.get("tenancy", {})
    if tenancy:
        lines.append("## Agencies and migrations")
        lines.append("")
        lines.append("| measurement | seconds |")
        lines.append("|---|---:|")
        for key, label in (
            ("agency_create_s", "agency creation (template clone), median"),
            ("clone_s", "  of which: schema clone (apps.agencies.cloning)"),
            ("django_tenants_clone_s", "django-tenants' clone of the same template (before)"),
            ("one_schema_migrate_s", "one schema migrated from empty (all migrations)"),
            ("migrate_up_to_date_s", f"migrate_agencies, {tenancy.get('agencies')} agencies, "
                                     "nothing pending"),
            ("migrate_additive_s", f"migrate_agencies, {tenancy.get('agencies')} agencies, one "
                                   "additive migration"),
        ):  # fmt: skip
            if key in tenancy:
                lines.append(f"| {label} | {tenancy[key]:.2f} |")
        lines.append("")
    celery = results.get("celery", {})
    if celery:
        lines.append("## Celery (end to end, real worker)")
        lines.append("")
        lines.append("| jobs | count | seconds, end to end | jobs/s | of which queueing, s |")
        lines.append("|---|---:|---:|---:|---:|")
        for key in ("noop", "notification"):
            cell = celery.get(key)
            if cell:
                queueing = cell.get("send_seconds", cell.get("enqueue_seconds", 0.0))
                lines.append(
                    f"| {cell['label']} | {cell['jobs']} | {cell['seconds']:.2f} "
                    f"| {cell['per_second']:.0f} | {queueing:.2f} |"
                )
        lines.append("")
        certificate = celery.get("certificate")
        if certificate:
            latency = certificate["latency_ms"]
            lines.append(
                f"Certificates ({certificate['label']}): one at a time, commit → stored and "
                f"recorded: median {latency['median']:.0f} ms, **p95 {latency['p95']:.0f} ms** "
                f"(target ≤ 1000 ms: {_ok(latency['p95'] <= 1000)}), max "
                f"{latency['max']:.0f} ms over {latency['n']}; {certificate['jobs']} at once: "
                f"**{certificate['per_second']:.1f} certificates/s** "
                f"({certificate['seconds']:.2f} s)."
            )
            lines.append("")
        lines.append(f"Worker: {celery.get('worker')}; broker: {results.get('broker')}.")
        lines.append("")
    storage = results.get("storage", {})
    if storage:
        lines.append("## Object storage (2 MiB document through the API)")
        lines.append("")
        lines.append(
            "| backend | operation | requests | errors | mean ms | p50 ms | p95 ms | p99 ms |"
        )
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for backend in ("filesystem", "s3", "s3-redirect"):
            for op in ("upload", "download"):
                cell = storage.get(backend, {}).get(op, {})
                if cell.get("count"):
                    lines.append(
                        f"| {backend} | {op} | {cell['count']} | {cell['errors']} "
                        f"| {cell['mean_ms']:.1f} | {cell['p50_ms']:.1f} | {cell['p95_ms']:.1f} "
                        f"| {cell['p99_ms']:.1f} |"
                    )
        lines.append("")
        lines.append(
            f"{storage.get('concurrency')} clients, keep-alive; three gunicorn servers of "
            f"{storage.get('gunicorn_workers')} workers side by side; S3: "
            f"{storage.get('s3_server')}; {storage.get('rounds')} alternating rounds."
        )
        lines.append("")
    if results.get("payments"):
        from benches.harness.payments_bench import markdown as payments_markdown

        lines.extend(payments_markdown(results["payments"]))
    gateway = results.get("gateway", {})
    if gateway:
        hold, latency, storm = (gateway.get(k, {}) for k in ("hold", "latency", "storm"))
        lines.append("## Real-time gateway (uvicorn, WebSocket)")
        lines.append("")
        lines.append("| phase | figures | load average (1, 5, 15 min) |")
        lines.append("|---|---|---|")
        lines.append(
            f"| hold | {hold.get('opened')} connections opened in {hold.get('open_seconds')} s, "
            f"{hold.get('still_open')} still open after {hold.get('held_seconds')} s; RSS "
            f"{hold.get('rss_before_mib')} → {hold.get('rss_after_mib')} MiB = "
            f"{hold.get('kib_per_connection')} KiB per connection | {hold.get('load_average')} |"
        )
        lines.append(
            f"| latency | {latency.get('produced')} events at {latency.get('achieved_rate')}/s "
            f"(asked {latency.get('rate')}, {latency.get('producers')} producer processes), "
            f"{latency.get('deliveries')} deliveries "
            f"({latency.get('fanout_agents')} agents on the queue + the citizens' connections): "
            f"commit-to-client p50 {latency.get('p50_ms')} ms, p95 {latency.get('p95_ms')} ms, "
            f"p99 {latency.get('p99_ms')} ms | {latency.get('load_average')} |"
        )
        lines.append(
            f"| storm | {storm.get('connections')} connections closed and reopened at once "
            f"({storm.get('reopened')} back in {storm.get('reconnect_seconds')} s) while "
            f"{storm.get('events_during_storm')} events came: {storm.get('deliveries_expected')} "
            f"deliveries expected, {storm.get('events_lost')} lost; "
            f"{storm.get('failed_attempts')} connection attempts refused or timed out, retried "
            f"with backoff "
            f"| {storm.get('load_average')} |"
        )
        lines.append("")
        lines.append(
            f"Channel layer: {gateway.get('layer')}; load average at the start of the section: "
            f"{gateway.get('load_average_at_start')}. Client and server share the machine."
        )
        lines.append("")
    rows = verdicts(results)
    if rows:
        lines.append("## Targets")
        lines.append("")
        lines.append("| target | measured | verdict |")
        lines.append("|---|---|---|")
        for row in rows:
            lines.append(f"| {row['target']} | {row['measured']} | {_ok(row['passed'])} |")
        lines.append("")
    lines.append(f"Total bench time: {results.get('seconds', 0):.0f} s.")
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], directory: Path) -> str:
    """Write ``latest.json`` and ``latest.md``; return the Markdown."""
    results["targets"] = verdicts(results)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = markdown(results)
    (directory / "latest.md").write_text(text)
    return text
