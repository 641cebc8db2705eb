"""SQL round trips per request, counted at the driver, with the settings the server runs.

``python -m benches.harness.roundtrips --state STATE.json`` (bench environment). Requests go
through Django's WSGI handler exactly as gunicorn calls it (``request_started`` /
``request_finished`` included, so persistent connections, health checks and the pool behave as
in the server), one thread, after warm-up requests. Every statement psycopg sends is counted:
Django's queries, ``SET search_path``, the connection health check (``SELECT 1``), the pool's
check, and ``BEGIN`` / ``COMMIT`` / ``SAVEPOINT`` of transactions, which Django's own query
log does not show. Prints JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

import psycopg  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from psycopg import _connection_base  # noqa: E402

_statements: list[str] = []


def _install_counters() -> None:
    original_execute = psycopg.Cursor.execute

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        _statements.append(query if isinstance(query, str) else str(query))
        return original_execute(self, query, *args, **kwargs)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]

    original_command = _connection_base.BaseConnection._exec_command

    def exec_command(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        text = command if isinstance(command, str) else bytes(command).decode(errors="replace")
        _statements.append(text)
        return (yield from original_command(self, command, *args, **kwargs))

    _connection_base.BaseConnection._exec_command = exec_command  # type: ignore[method-assign]


@contextmanager
def counting() -> Iterator[list[str]]:
    """The statements sent while the block runs."""
    start = len(_statements)
    captured: list[str] = []
    try:
        yield captured
    finally:
        captured.extend(_statements[start:])


def call(
    handler: WSGIHandler, method: str, path: str, host: str, headers: dict[str, str], body: bytes
) -> int:
    """One request through the WSGI handler; returns the status code."""
    path_info, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": host,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc: Any = None) -> Any:
        status.append(line)
        return lambda _data: None

    response = handler(environ, start_response)
    for _chunk in response:
        pass
    if hasattr(response, "close"):
        response.close()
    return int(status[0].split()[0])


def classify(statements: list[str]) -> dict[str, int]:
    """Counts of one request's statements."""
    sets = sum(1 for s in statements if s.lstrip().upper().startswith("SET SEARCH_PATH"))
    health = sum(1 for s in statements if s.strip() in ("SELECT 1", ""))
    return {
        "round_trips": len(statements),
        "statements": len(statements) - health,
        "search_path_sets": sets,
        "health_checks": health,
    }


def drafts_left(state: dict[str, Any], count: int) -> list[tuple[str, str]]:
    """Drafts of the submit agency still unsubmitted, from the end of the drafts file."""
    from apps.applications.models import Application

    lines = Path(state["drafts_file"]).read_text().splitlines()[-max(200, count) :]
    pairs = [tuple(line.split(" ", 1)) for line in lines]
    schema = state["hosts"]["submit"].split(".")[0].replace("-", "_")
    with schema_context(schema):
        ready = {
            str(pk)
            for pk in Application.objects.filter(
                pk__in=[p[0] for p in pairs], status="draft"
            ).values_list("pk", flat=True)
        }
    connection.close()
    return [(p[0], p[1]) for p in pairs if p[0] in ready][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    state = json.loads(args.state.read_text())
    hosts, tokens = state["hosts"], state["tokens"]
    handler = WSGIHandler()
    _install_counters()
    endpoints: dict[str, tuple[str, str, str, dict[str, str]]] = {
        "services": ("GET", "/api/v1/services/", hosts["lists"], {}),
        "me": (
            "GET",
            "/api/v1/me/applications/",
            hosts["public"],
            {"Authorization": f"Bearer {tokens['citizen']}"},
        ),
        "staff": (
            "GET",
            "/api/v1/staff/applications/?status=submitted&page_size=50",
            hosts["lists"],
            {"Authorization": f"Bearer {tokens['agent']}"},
        ),
    }
    out: dict[str, Any] = {"endpoints": {}, "rounds": args.rounds}
    for name, (method, path, host, headers) in endpoints.items():
        per_request: list[dict[str, int]] = []
        statuses: set[int] = set()
        samples: list[list[str]] = []
        for index in range(args.rounds + 2):
            with counting() as statements:
                statuses.add(call(handler, method, path, host, headers, b""))
            if index >= 2:  # the first requests open connections and fill caches
                per_request.append(classify(statements))
                samples.append(statements)
        if statuses != {200}:
            out["endpoints"][name] = {
                "round_trips": 0, "statements": 0, "search_path_sets": 0, "health_checks": 0,
                "skipped": f"status {sorted(statuses)}",
            }  # fmt: skip
            continue
        cell = {key: int(statistics.median(r[key] for r in per_request)) for key in per_request[0]}
        cell["sample"] = [s[:120] for s in samples[-1]]
        out["endpoints"][name] = cell
    submit: list[dict[str, int]] = []
    sample: list[str] = []
    for pk, token in drafts_left(state, args.rounds):
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"roundtrips-{pk}"}
        with counting() as statements:
            status = call(
                handler, "POST", f"/api/v1/applications/{pk}/submit/", hosts["submit"], headers,
                b"{}",
            )  # fmt: skip
        if status == 200:
            submit.append(classify(statements))
            sample = statements
    if submit:
        cell = {key: int(statistics.median(r[key] for r in submit)) for key in submit[0]}
        cell["sample"] = [s[:120] for s in sample]
        out["submit"] = cell
    print(json.dumps(out))


if __name__ == "__main__":
    main()
