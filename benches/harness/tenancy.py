"""Agency creation, a one-schema migrate, and ``migrate_agencies`` over every agency.

``python -m benches.harness.tenancy --agencies N --samples K`` (bench environment; the seed
already made the N agencies). Prints JSON:

* ``agency_create_s``: median wall time of ``agency_create`` (template clone, domain, audit)
  over K agencies, which are dropped again afterwards; ``clone_s`` and
  ``record_migrations_s`` split it (the SQL clone of the template, and whatever records the
  migrations in the new schema);
* ``one_schema_migrate_s``: one empty schema migrated with every tenant migration, as an agency
  would be created without a template;
* ``migrate_up_to_date_s``: ``manage.py migrate_agencies`` (the real command, process start
  included) with nothing pending;
* ``migrate_additive_s``: the same with one additive migration pending in every schema: a
  throwaway tenant app ``bench_extra`` whose migration creates a table, written to a temporary
  directory (never the repository) and loaded through ``BENCH_EXTRA_APP_DIR``; its table and
  migration rows are removed from every schema afterwards (and before, after a crash).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

import django_tenants.models  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.clone import CloneSchema  # noqa: E402

from apps.agencies.models import Agency  # noqa: E402
from apps.agencies.services import agency_create  # noqa: E402
from apps.core.context import set_context, system_context  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
EXTRA_APP = "bench_extra"
EXTRA_MIGRATION = '''"""Throwaway additive migration of the migrate benchmark (benches/harness)."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.RunSQL(
            "CREATE TABLE bench_extra_probe (id bigserial PRIMARY KEY, note text)",
            reverse_sql="DROP TABLE bench_extra_probe",
        )
    ]
'''


def log(message: str) -> None:
    print(f"[bench tenancy] {message}", file=sys.stderr, flush=True)


class Stopwatch:
    """Accumulates the time spent in wrapped callables."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def measure_creation(samples: int) -> dict[str, Any]:
    """Create ``samples`` agencies (timed), then drop them."""
    clone_watch, record_watch = Stopwatch(), Stopwatch()
    original_clone = CloneSchema.clone_schema
    original_call = django_tenants.models.call_command
    CloneSchema.clone_schema = clone_watch.wrap(original_clone)  # type: ignore[method-assign]
    django_tenants.models.call_command = record_watch.wrap(original_call)
    totals: list[float] = []
    clones: list[float] = []
    records: list[float] = []
    try:
        for index in range(samples):
            slug = f"bench-create-{os.getpid()}-{index}"
            clone_watch.seconds = record_watch.seconds = 0.0
            started = time.perf_counter()
            agency = agency_create(slug=slug, name_fr=slug, name_en=slug)
            totals.append(time.perf_counter() - started)
            clones.append(clone_watch.seconds)
            records.append(record_watch.seconds)
            agency.delete(force_drop=True)
            connection.set_schema_to_public()
    finally:
        CloneSchema.clone_schema = original_clone  # type: ignore[method-assign]
        django_tenants.models.call_command = original_call
    return {
        "agency_create_s": round(statistics.median(totals), 3),
        "agency_create_samples_s": [round(x, 3) for x in totals],
        "clone_s": round(statistics.median(clones), 3),
        # django-tenants runs a fake migrate after the clone; a direct copy of the template's
        # django_migrations rows makes this part (nearly) vanish.
        "record_migrations_s": round(statistics.median(records), 3),
    }


def measure_fast_clone(samples: int) -> dict[str, Any]:
    """The catalogue-driven clone (``benches/harness/fastclone.py``), rolled back each time,
    and how its result and django-tenants' compare with the template (names kept?)."""
    from django.db import transaction

    from benches.harness.fastclone import fast_clone, schema_signature

    def names(signature: dict[str, Any]) -> dict[str, set[str]]:
        return {
            "constraints": {f"{row[0]}.{row[1]}" for row in signature["constraints"]},
            "indexes": {row[0] for row in signature["indexes"]},
            "triggers": {row[0] for row in signature["triggers"]},
        }

    times: list[float] = []
    report: dict[str, Any] = {}
    for index in range(samples):
        with transaction.atomic():
            with connection.cursor() as cursor:
                started = time.perf_counter()
                fast_clone(cursor, "agency_template", f"bench_fastclone_{os.getpid()}")
                times.append(time.perf_counter() - started)
                if index == 0:
                    template = names(schema_signature(cursor, "agency_template"))
                    fast = schema_signature(cursor, f"bench_fastclone_{os.getpid()}")
                    report["fast_clone_rows"] = fast["rows"]
                    fast_names = names(fast)
                    cursor.execute(
                        "SELECT schema_name FROM agencies_agency WHERE schema_name <> 'public' "
                        "ORDER BY created_at DESC LIMIT 1"
                    )
                    row = cursor.fetchone()
                    if row:
                        cloned = names(schema_signature(cursor, row[0]))
                        report["django_tenants_clone_renamed"] = sorted(
                            name for kind in template for name in template[kind] ^ cloned[kind]
                        )
                    report["fast_clone_renamed"] = sorted(
                        name for kind in template for name in template[kind] ^ fast_names[kind]
                    )
            transaction.set_rollback(True)
        connection.set_schema_to_public()
    report["fast_clone_s"] = round(statistics.median(times), 3)
    return report


def measure_one_schema_migrate() -> float:
    """Every tenant migration applied to one empty schema (then dropped)."""
    schema = f"bench_oneschema_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    started = time.perf_counter()
    try:
        call_command(
            "migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0
        )
        return time.perf_counter() - started
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def migrate_agencies(extra_dir: str = "") -> tuple[float, str]:
    """``manage.py migrate_agencies`` as an operator runs it; (seconds, last output line)."""
    env = dict(os.environ)
    if extra_dir:
        env["BENCH_EXTRA_APP_DIR"] = extra_dir
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate_agencies"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"migrate_agencies failed:\n{result.stdout[-3000:]}\n{result.stderr}")
    lines = result.stdout.strip().splitlines()
    return seconds, lines[-1] if lines else ""


def extra_cleanup() -> int:
    """Remove the throwaway app's table and migration rows from every schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = "
            "'django_migrations'"
        )
        schemas = [row[0] for row in cursor.fetchall()]
        for schema in schemas:
            cursor.execute(f'DROP TABLE IF EXISTS "{schema}".bench_extra_probe')
            cursor.execute(
                f'DELETE FROM "{schema}".django_migrations WHERE app = %s',  # noqa: S608
                [EXTRA_APP],
            )
    return len(schemas)


def write_extra_app(directory: Path) -> None:
    package = directory / EXTRA_APP
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "__init__.py").write_text("")
    (package / "migrations" / "0001_initial.py").write_text(EXTRA_MIGRATION)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    set_context(system_context("bench.tenancy"))
    connection.set_schema_to_public()
    out: dict[str, Any] = {
        "agencies": Agency.objects.exclude(schema_name="public").count(),
    }
    extra_cleanup()
    log(f"agency creation x{args.samples}")
    out.update(measure_creation(args.samples))
    log("catalogue-driven clone (candidate), rolled back")
    out.update(measure_fast_clone(args.samples))
    log("one schema migrated from empty")
    out["one_schema_migrate_s"] = round(measure_one_schema_migrate(), 3)
    log(f"migrate_agencies over {out['agencies']} agencies, nothing pending")
    seconds, summary = migrate_agencies()
    out["migrate_up_to_date_s"] = round(seconds, 3)
    out["migrate_up_to_date_summary"] = summary
    with tempfile.TemporaryDirectory(prefix="guichet-bench-extra-") as directory:
        write_extra_app(Path(directory))
        log(f"migrate_agencies over {out['agencies']} agencies, one additive migration")
        try:
            seconds, summary = migrate_agencies(directory)
            out["migrate_additive_s"] = round(seconds, 3)
            out["migrate_additive_summary"] = summary
        finally:
            connection.set_schema_to_public()
            out["cleaned_schemas"] = extra_cleanup()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
