"""Every knob of ``make bench``: environment variables ``BENCH_*``, overridden by flags.

Durations are in seconds. ``--quick`` shortens everything for development (a few seconds per
phase, 20 agencies for the migrate figures) and its results must not be quoted as figures.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS_DIR = ROOT / "benches" / "results"
SECTIONS = ("http", "tenancy", "celery", "storage", "payments", "gateway")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class BenchConfig:
    """What to run and for how long."""

    duration: float = 10.0  # closed-loop phase per endpoint (BENCH_DURATION)
    rate_duration: float = 10.0  # fixed-rate phase per endpoint (BENCH_RATE_DURATION)
    warmup: float = 2.0  # untimed load before each endpoint (BENCH_WARMUP)
    connections: int = 32  # closed loop (BENCH_CONNECTIONS)
    rate_connections: int = 256  # fixed rate (BENCH_RATE_CONNECTIONS)
    rate_fraction: float = 0.7  # of the closed-loop maximum (BENCH_RATE_FRACTION)
    threads: int = 2  # wrk threads (BENCH_THREADS)
    agencies: int = 200  # agencies in the migrate figures (BENCH_AGENCIES)
    applications: int = 600  # submitted applications in the listed agency (BENCH_APPLICATIONS)
    submit_drafts: int = 6000  # drafts ready for the submit endpoint (BENCH_SUBMIT_DRAFTS)
    creation_samples: int = 3  # agencies created and dropped again (BENCH_CREATION_SAMPLES)
    celery_noop_jobs: int = 2000  # BENCH_CELERY_NOOP_JOBS
    celery_notification_jobs: int = 300  # BENCH_CELERY_NOTIFICATION_JOBS
    celery_certificate_jobs: int = 40  # BENCH_CELERY_CERTIFICATE_JOBS
    storage_uploads: int = 120  # 2 MiB uploads (and downloads) per backend (BENCH_STORAGE_UPLOADS)
    storage_concurrency: int = 1  # clients of the storage section (BENCH_STORAGE_CONCURRENCY)
    storage_workers: int = 2  # gunicorn workers of each storage server (BENCH_STORAGE_WORKERS)
    gateway_connections: int = 2000  # held WebSocket connections (BENCH_GATEWAY_CONNECTIONS)
    gateway_hold: float = 60.0  # seconds they are held (BENCH_GATEWAY_HOLD)
    gateway_rate: float = 100.0  # events/s of the latency phase (BENCH_GATEWAY_RATE)
    gateway_rate_duration: float = 20.0  # BENCH_GATEWAY_RATE_DURATION
    gateway_producers: int = 4  # processes committing events (BENCH_GATEWAY_PRODUCERS)
    gateway_fanout: int = 20  # agents following the queue: every event (BENCH_GATEWAY_FANOUT)
    gateway_storm_rate: float = (
        20.0  # events/s during the reconnect storm (BENCH_GATEWAY_STORM_RATE)
    )
    gateway_storm_duration: float = 10.0  # BENCH_GATEWAY_STORM_DURATION
    loadgen: str = "auto"  # auto, wrk or python (BENCH_LOADGEN)
    sections: tuple[str, ...] = SECTIONS  # BENCH_ONLY=http,tenancy,celery,storage,payments
    endpoints: tuple[str, ...] = ()  # BENCH_ENDPOINTS (empty: all)
    gunicorn_workers: int = 0  # 0: config/gunicorn.conf.py's default (BENCH_GUNICORN_WORKERS)
    quick: bool = False
    label: str = ""  # free text stored with the results (BENCH_LABEL)
    reset_db: bool = False  # drop the bench database first (BENCH_RESET_DB=1 or --reset-db)
    results_dir: Path = field(default=RESULTS_DIR)

    @classmethod
    def from_env(cls) -> BenchConfig:
        """Defaults overridden by the ``BENCH_*`` environment variables."""
        only = os.environ.get("BENCH_ONLY", "").strip()
        endpoints = os.environ.get("BENCH_ENDPOINTS", "").strip()
        return cls(
            duration=_env_float("BENCH_DURATION", cls.duration),
            rate_duration=_env_float("BENCH_RATE_DURATION", cls.rate_duration),
            warmup=_env_float("BENCH_WARMUP", cls.warmup),
            connections=_env_int("BENCH_CONNECTIONS", cls.connections),
            rate_connections=_env_int("BENCH_RATE_CONNECTIONS", cls.rate_connections),
            rate_fraction=_env_float("BENCH_RATE_FRACTION", cls.rate_fraction),
            threads=_env_int("BENCH_THREADS", cls.threads),
            agencies=_env_int("BENCH_AGENCIES", cls.agencies),
            applications=_env_int("BENCH_APPLICATIONS", cls.applications),
            submit_drafts=_env_int("BENCH_SUBMIT_DRAFTS", cls.submit_drafts),
            creation_samples=_env_int("BENCH_CREATION_SAMPLES", cls.creation_samples),
            celery_noop_jobs=_env_int("BENCH_CELERY_NOOP_JOBS", cls.celery_noop_jobs),
            celery_certificate_jobs=_env_int(
                "BENCH_CELERY_CERTIFICATE_JOBS", cls.celery_certificate_jobs
            ),
            celery_notification_jobs=_env_int(
                "BENCH_CELERY_NOTIFICATION_JOBS", cls.celery_notification_jobs
            ),
            storage_uploads=_env_int("BENCH_STORAGE_UPLOADS", cls.storage_uploads),
            storage_concurrency=_env_int("BENCH_STORAGE_CONCURRENCY", cls.storage_concurrency),
            storage_workers=_env_int("BENCH_STORAGE_WORKERS", cls.storage_workers),
            gateway_connections=_env_int("BENCH_GATEWAY_CONNECTIONS", cls.gateway_connections),
            gateway_hold=_env_float("BENCH_GATEWAY_HOLD", cls.gateway_hold),
            gateway_rate=_env_float("BENCH_GATEWAY_RATE", cls.gateway_rate),
            gateway_rate_duration=_env_float(
                "BENCH_GATEWAY_RATE_DURATION", cls.gateway_rate_duration
            ),
            gateway_fanout=_env_int("BENCH_GATEWAY_FANOUT", cls.gateway_fanout),
            gateway_producers=_env_int("BENCH_GATEWAY_PRODUCERS", cls.gateway_producers),
            gateway_storm_rate=_env_float("BENCH_GATEWAY_STORM_RATE", cls.gateway_storm_rate),
            gateway_storm_duration=_env_float(
                "BENCH_GATEWAY_STORM_DURATION", cls.gateway_storm_duration
            ),
            loadgen=os.environ.get("BENCH_LOADGEN", cls.loadgen).strip() or cls.loadgen,
            sections=tuple(s.strip() for s in only.split(",") if s.strip()) or SECTIONS,
            endpoints=tuple(e.strip() for e in endpoints.split(",") if e.strip()),
            gunicorn_workers=_env_int("BENCH_GUNICORN_WORKERS", 0),
            label=os.environ.get("BENCH_LABEL", ""),
            reset_db=os.environ.get("BENCH_RESET_DB", "") in ("1", "true", "yes"),
        )

    def quickened(self) -> BenchConfig:
        """Short phases for development (``--quick``)."""
        return replace(
            self,
            duration=min(self.duration, 3.0),
            rate_duration=min(self.rate_duration, 3.0),
            warmup=min(self.warmup, 1.0),
            agencies=min(self.agencies, 20),
            creation_samples=1,
            celery_noop_jobs=min(self.celery_noop_jobs, 300),
            celery_notification_jobs=min(self.celery_notification_jobs, 60),
            celery_certificate_jobs=min(self.celery_certificate_jobs, 10),
            submit_drafts=min(self.submit_drafts, 2500),
            storage_uploads=min(self.storage_uploads, 20),
            gateway_connections=min(self.gateway_connections, 200),
            gateway_hold=min(self.gateway_hold, 5.0),
            gateway_rate_duration=min(self.gateway_rate_duration, 5.0),
            gateway_storm_duration=min(self.gateway_storm_duration, 5.0),
            quick=True,
        )


def parse_args(argv: list[str] | None = None) -> BenchConfig:
    """The configuration from the environment and the command line."""
    parser = argparse.ArgumentParser(description="Guichet platform benchmarks (make bench).")
    parser.add_argument("--quick", action="store_true", help="short phases (development only)")
    parser.add_argument(
        "--only", help=f"comma-separated sections to run ({', '.join(SECTIONS)}); default all"
    )
    parser.add_argument(
        "--endpoints",
        help="comma-separated endpoints of the http section (floor, services, me, staff, submit)",
    )
    parser.add_argument("--duration", type=float, help="closed-loop seconds per endpoint")
    parser.add_argument("--rate-duration", type=float, help="fixed-rate seconds per endpoint")
    parser.add_argument("--agencies", type=int, help="agencies in the migrate figures")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"))
    parser.add_argument("--label", help="free text stored with the results")
    parser.add_argument(
        "--reset-db", action="store_true", help="drop the bench database first (rebuilt from zero)"
    )
    args = parser.parse_args(argv)
    config = BenchConfig.from_env()
    if args.quick:
        config = config.quickened()
    changes: dict[str, object] = {}
    if args.only:
        changes["sections"] = tuple(s.strip() for s in args.only.split(",") if s.strip())
    if args.endpoints:
        changes["endpoints"] = tuple(e.strip() for e in args.endpoints.split(",") if e.strip())
    if args.duration is not None:
        changes["duration"] = args.duration
    if args.rate_duration is not None:
        changes["rate_duration"] = args.rate_duration
    if args.agencies is not None:
        changes["agencies"] = args.agencies
    if args.loadgen:
        changes["loadgen"] = args.loadgen
    if args.label:
        changes["label"] = args.label
    if args.reset_db:
        changes["reset_db"] = True
    unknown = set(changes.get("sections", ())) - set(SECTIONS)  # type: ignore[arg-type]
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return replace(config, **changes)  # type: ignore[arg-type]
