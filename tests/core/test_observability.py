"""Worker and beat log JSON like the web; no kombu hostname warning; static files unlogged.

The worker and beat are real ``celery`` processes (the commands of ``make run`` and the
compose file) on the filesystem transport in a temporary directory; every line they print
must be one JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from config.settings.base import broker_url

ROOT = Path(__file__).resolve().parents[2]


def _celery_lines(args: list[str], ready_marker: str, tmp_path: Path) -> list[str]:
    """Run ``celery -A config --quiet <args>`` until it logs ``ready_marker``; its lines."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CELERY_BROKER_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "GUICHET_VAR_DIR": str(tmp_path),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "--quiet", *args]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if ready_marker in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        seen.wait(90)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        reader.join(10)
    assert seen.is_set(), "\n".join(lines[-40:])
    return [line for line in lines if line.strip()]


# Printed (not logged) by Celery's own SIGTERM handler, after the test stopped the worker.
CELERY_SHUTDOWN_PRINTS = ("worker: Warm shutdown (MainProcess)",)


def _assert_json_lines(lines: list[str]) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        if line in CELERY_SHUTDOWN_PRINTS:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
        assert {"event", "level", "timestamp", "logger"} <= set(record), record
        records.append(record)
    return records


@pytest.mark.slow
def test_the_worker_logs_one_json_object_per_line(tmp_path: Path) -> None:
    queue = f"json-{uuid.uuid4().hex[:8]}"
    lines = _celery_lines(["worker", "--pool", "solo", "-Q", queue], " ready.", tmp_path)

    records = _assert_json_lines(lines)

    assert any(r["logger"].startswith("celery") and "ready" in r["event"] for r in records)
    assert not any("No hostname was supplied" in r["event"] for r in records)


@pytest.mark.slow
def test_beat_logs_one_json_object_per_line(tmp_path: Path) -> None:
    schedule = tmp_path / "beat-schedule"
    lines = _celery_lines(["beat", "--schedule", str(schedule)], "Starting", tmp_path)

    records = _assert_json_lines(lines)

    assert any(r["logger"] == "celery.beat" for r in records)


def _publish(url: str, folder: Path) -> None:
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder),
    }
    with Connection(url, transport_options=options) as connection:
        producer = connection.Producer()
        producer.publish({"hello": 1}, routing_key="q", declare=[connection.SimpleQueue("q").queue])
        connection.clone().release()  # what a pool does: the info of the connection is read


def test_publishing_on_the_default_broker_url_logs_no_hostname_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kombu")
    tmp_path.joinpath("q").mkdir()

    _publish(broker_url("filesystem://"), tmp_path / "q")
    assert not [r for r in caplog.records if "No hostname was supplied" in r.getMessage()]

    # The raw default URL is what logged it, at every connection.
    _publish("filesystem://", tmp_path / "q")
    assert [r for r in caplog.records if "No hostname was supplied" in r.getMessage()]


def test_broker_urls_with_a_host_are_left_alone() -> None:
    assert broker_url("filesystem://") == "filesystem://localhost/"
    assert broker_url("memory://") == "memory://localhost/"
    assert broker_url("redis://127.0.0.1:6379/3") == "redis://127.0.0.1:6379/3"
    assert broker_url("filesystem://localhost/") == "filesystem://localhost/"


@pytest.mark.django_db
def test_static_files_are_not_logged_one_by_one(client: Any) -> None:
    from apps.core import middleware

    seen: list[dict[str, Any]] = []

    class Recorder:
        def info(self, event: str, **fields: Any) -> None:
            seen.append({"event": event, **fields})

        def exception(self, event: str, **fields: Any) -> None:  # pragma: no cover
            seen.append({"event": event, **fields})

    original = middleware.logger
    middleware.logger = Recorder()  # type: ignore[assignment]
    try:
        static = client.get("/static/admin/css/base.css", HTTP_HOST="localhost")
        health = client.get("/healthz", HTTP_HOST="localhost")
    finally:
        middleware.logger = original
    b"".join(static.streaming_content)

    assert static.status_code == 200
    assert health.status_code == 200
    assert [line["path"] for line in seen if line["event"] == "request_finished"] == ["/healthz"]
