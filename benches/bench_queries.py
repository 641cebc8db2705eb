"""Query counts and latency of the two list endpoints that grow with the data.

* the staff work queue, ``GET /api/v1/staff/applications/`` on an agency host;
* the citizen's cross-agency list, ``GET /api/v1/me/applications/`` on the public host.

Run: ``.venv/bin/python benches/bench_queries.py`` (about 30 s; ``--quick`` for fewer rounds).

A throwaway test database is created (the project's test settings, ``DATABASE_URL`` with a
``test_`` prefix), with two agencies cloned from the template as in production, one published
service each, and ``--rows`` submitted applications per agency (bulk-inserted, with their index
rows), all of one citizen so the cross-agency list is as long as it gets. Each endpoint is then
called in-process through Django's test client (full middleware, authentication, rendering) for
page sizes 5, 20, 50 and 100: the number of SQL queries of one call, and the median and p95
wall time over ``--rounds`` calls. The database is dropped at the end.

Results: a Markdown table on stdout and ``benches/results/queries.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.accounts.mfa.services import AMR_PASSWORD_OTP  # noqa: E402
from apps.accounts.models import Role, User  # noqa: E402
from apps.accounts.services import membership_grant  # noqa: E402
from apps.accounts.tokens import TokenKind, issue_user_tokens  # noqa: E402
from apps.agencies.services import agency_create  # noqa: E402
from apps.applications.models import Application  # noqa: E402
from apps.applications.references import reference_format  # noqa: E402
from apps.catalogue.models import Service  # noqa: E402
from apps.directory.models import ApplicationEntry  # noqa: E402

RESULTS = ROOT / "benches" / "results" / "queries.json"
PAGE_SIZES = (5, 20, 50, 100)
AGENCIES = (("bench-a", "bench-a.localhost", "BA"), ("bench-b", "bench-b.localhost", "BB"))
FORM = {
    "type": "object",
    "properties": {"nom": {"type": "string", "title": "Nom"}},
    "required": ["nom"],
}


def _populate(rows: int) -> tuple[User, User]:
    """Two agencies with ``rows`` submitted applications each, all of one citizen."""
    citizen = User.objects.create_user(email="bench-citoyen@example.tg", first_name="Afi")
    supervisor = User.objects.create_user(email="bench-superviseur@example.tg")
    now = timezone.now()
    for slug, host, prefix in AGENCIES:
        agency = agency_create(slug=slug, name_fr=slug, name_en=slug, domain=host)
        if slug == AGENCIES[0][0]:
            membership_grant(user=supervisor, agency=agency, role=Role.SUPERVISOR)
        with schema_context(agency.schema_name):
            service = Service.objects.create(
                code="certificat",
                name_fr="Certificat",
                name_en="Certificate",
                category="etat-civil",
                form_schema=FORM,
                sla_working_days=5,
                is_published=True,
            )
            applications = [
                Application(
                    id=uuid.uuid4(),
                    service=service,
                    citizen=citizen,
                    status="submitted",
                    form_data={"nom": "Mensah"},
                    reference=reference_format(prefix=prefix, year=now.year, number=i + 1),
                    submitted_at=now - timedelta(minutes=i),
                    due_at=now + timedelta(days=7) - timedelta(minutes=i),
                    updated_at=now - timedelta(minutes=i),
                )
                for i in range(rows)
            ]
            Application.objects.bulk_create(applications, batch_size=500)
        ApplicationEntry.objects.bulk_create(
            [
                ApplicationEntry(
                    id=a.id,
                    agency=agency,
                    citizen=citizen,
                    reference=a.reference or "",
                    service_code=service.code,
                    service_name_fr=service.name_fr,
                    service_name_en=service.name_en,
                    status=a.status,
                    submitted_at=a.submitted_at,
                    due_at=a.due_at,
                    updated_at=a.updated_at,
                )
                for a in applications
            ],
            batch_size=500,
        )
    return citizen, supervisor


def _measure(client: Client, url: str, page_size: int, rounds: int) -> dict[str, Any]:
    client.get(url, {"page_size": page_size})  # warm-up (connection, search_path, caches)
    connection.queries_log.clear()  # a full log (maxlen) would hide new entries
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": page_size})
    # Read now: the next request's request_started signal empties the connection's log.
    query_count = len(queries)
    assert response.status_code == 200, response.content
    returned = len(response.json()["results"])
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get(url, {"page_size": page_size})
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "page_size": page_size,
        "rows_returned": returned,
        "queries": query_count,
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500, help="applications per agency")
    parser.add_argument("--rounds", type=int, default=40, help="timed calls per page size")
    parser.add_argument("--quick", action="store_true", help="10 rounds")
    args = parser.parse_args()
    rounds = 10 if args.quick else args.rounds

    setup_test_environment(debug=False)
    started = time.perf_counter()
    databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        connection.set_schema_to_public()
        citizen, supervisor = _populate(args.rows)
        staff_token = issue_user_tokens(  # as issued after the password and the second factor
            user=supervisor,
            kind=TokenKind.STAFF,
            agency="bench_a",
            role=Role.SUPERVISOR,
            amr=AMR_PASSWORD_OTP,
        ).access
        citizen_token = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN).access
        setup_seconds = time.perf_counter() - started
        staff = Client(HTTP_HOST=AGENCIES[0][1], HTTP_AUTHORIZATION=f"Bearer {staff_token}")
        person = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {citizen_token}")
        results = {
            "staff_queue": [
                _measure(staff, "/api/v1/staff/applications/", size, rounds) for size in PAGE_SIZES
            ],
            "me_applications": [
                _measure(person, "/api/v1/me/applications/", size, rounds) for size in PAGE_SIZES
            ],
        }
    finally:
        connection.set_schema_to_public()
        teardown_databases(databases, verbosity=0)

    print(
        f"\nrows: {args.rows} per agency x 2 agencies; {rounds} timed calls per cell; "
        f"setup {setup_seconds:.1f} s\n"
    )
    print("| endpoint | page size | rows | SQL queries | median ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, label in (("staff_queue", "staff queue"), ("me_applications", "me/applications")):
        for cell in results[name]:
            print(
                f"| {label} | {cell['page_size']} | {cell['rows_returned']} | {cell['queries']} "
                f"| {cell['median_ms']} | {cell['p95_ms']} |"
            )
    for name, cells in results.items():
        counts = {cell["queries"] for cell in cells}
        print(f"{name}: {'constant' if len(counts) == 1 else 'NOT constant'} query count {counts}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "rows_per_agency": args.rows,
                "rounds": rounds,
                "python": platform.python_version(),
                "machine": platform.platform(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
