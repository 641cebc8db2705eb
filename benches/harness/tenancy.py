"""Agency creation, a one-schema migrate, and ``migrate_agencies`` over every agency.

``python -m benches.harness.tenancy --agencies N --samples K`` (bench environment; the seed
already made the N agencies). Prints JSON:

* ``agency_create_s``: median wall time of ``agency_create`` (template clone, domain, audit)
  over K agencies, which are dropped again afterwards; ``clone_s`` is the part spent in
  ``apps.agencies.cloning.schema_clone``; ``django_tenants_clone_s`` is django-tenants' own
  clone of the same template (what creation used before), in a rolled-back transaction, and
  ``renamed_by_*`` list the names each clone did not keep;
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


def _names(cursor: Any, schema: str) -> set[str]:
    """Constraint, index and trigger names of ``schema`` (what later migrations refer to)."""
    cursor.execute(
        "SELECT 'constraint ' || conname FROM pg_constraint WHERE connamespace = %s::regnamespace "
        "UNION SELECT 'index ' || relname FROM pg_class WHERE relnamespace = %s::regnamespace "
        "AND relkind = 'i' UNION SELECT 'trigger ' || t.tgname FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %s::regnamespace "
        "AND NOT t.tgisinternal",
        [schema, schema, schema],
    )
    return {row[0] for row in cursor.fetchall()}


def measure_creation(samples: int) -> dict[str, Any]:
    """Create ``samples`` agencies with ``agency_create`` (timed), then drop them."""
    from apps.agencies import cloning

    clone_watch = Stopwatch()
    original_clone = cloning.schema_clone
    cloning.schema_clone = clone_watch.wrap(original_clone)
    totals: list[float] = []
    clones: list[float] = []
    renamed: list[str] = []
    try:
        for index in range(samples):
            slug = f"bench-create-{os.getpid()}-{index}"
            clone_watch.seconds = 0.0
            started = time.perf_counter()
            agency = agency_create(slug=slug, name_fr=slug, name_en=slug)
            totals.append(time.perf_counter() - started)
            clones.append(clone_watch.seconds)
            if index == 0:
                with connection.cursor() as cursor:
                    template = _names(cursor, "agency_template")
                    renamed = sorted(template ^ _names(cursor, agency.schema_name))
            agency.delete(force_drop=True)
            connection.set_schema_to_public()
    finally:
        cloning.schema_clone = original_clone
    return {
        "agency_create_s": round(statistics.median(totals), 3),
        "agency_create_samples_s": [round(x, 3) for x in totals],
        "clone_s": round(statistics.median(clones), 3),
        "renamed_by_clone": renamed,
    }


def measure_django_tenants_clone(samples: int) -> dict[str, Any]:
    """django-tenants' own clone (what agency creation used before), rolled back each time;
    its fake migrate afterwards cost another 0.27 s (benches/README.md)."""
    from django.db import transaction

    times: list[float] = []
    renamed: list[str] = []
    for index in range(samples):
        target = f"bench_dtclone_{os.getpid()}"
        with transaction.atomic():
            started = time.perf_counter()
            CloneSchema().clone_schema("agency_template", target, "DATA")
            times.append(time.perf_counter() - started)
            if index == 0:
                with connection.cursor() as cursor:
                    renamed = sorted(_names(cursor, "agency_template") ^ _names(cursor, target))
            transaction.set_rollback(True)
        connection.set_schema_to_public()
    return {
        "django_tenants_clone_s": round(statistics.median(times), 3),
        "renamed_by_django_tenants_clone": renamed,
    }


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
    log("django-tenants' clone, for comparison (rolled back)")
    out.update(measure_django_tenants_clone(args.samples))
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
