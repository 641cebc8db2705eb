"""The storage section: a 2 MiB document uploaded and downloaded through the API, on the
filesystem and on S3 (moto's server on loopback), in the same run.

Three gunicorn servers with production settings run side by side, the same number of workers
each: one keeps files in a ``MEDIA_ROOT`` under the bench's var directory, the second in a
bucket of a moto S3 server started as a separate process on a free loopback port and streams
downloads itself (the default), the third uses the same bucket in redirect mode
(``STORAGE_S3_DOWNLOADS=redirect``: the download answers 302 to a signed URL, which the client
then fetches from the object store; the time counted is both requests). Rounds rotate which
server goes first so that the machine's load drifts over all alike. Each round uploads
``BENCH_STORAGE_UPLOADS / rounds`` documents per server
(``POST /api/v1/applications/{id}/attachments/``, multipart, 2 MiB) and downloads as many
(``GET .../attachments/{id}/``), with ``BENCH_STORAGE_CONCURRENCY`` clients over keep-alive
connections. A download is checked byte for byte against what was uploaded.

Target (issue 12): the S3 path stays within 2x of the filesystem path at p95, for uploads and
for downloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import statistics
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benches.harness import stack
from benches.harness.config import BenchConfig
from benches.harness.stack import log

DOCUMENT_BYTES = 2 * 1024 * 1024
UPLOADS_PER_DRAFT = 15  # a draft holds at most 20 documents
ROUNDS = 4
REGION = "us-east-1"
ACCESS_KEY = "bench"
SECRET_KEY = "bench-secret"


def BACKENDS_ENV(  # noqa: N802 - a table, named like the constants around it
    fs_env: dict[str, str], s3_env: dict[str, str], redirect_env: dict[str, str]
) -> list[tuple[str, dict[str, str]]]:
    """The servers under test: filesystem, S3 streamed by the app, S3 by signed-URL redirect."""
    return [("filesystem", fs_env), ("s3", s3_env), ("s3-redirect", redirect_env)]


def _document() -> bytes:
    """A 2 MiB PDF (a real header, incompressible content)."""
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    return head + os.urandom(DOCUMENT_BYTES - len(head))


def _multipart(document_type: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\n'
        f"{document_type}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="piece.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _start_moto(env: dict[str, str], var: Path) -> tuple[stack.Child, str]:
    port = stack.free_port()
    command = [stack.PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    child = stack.start_child("moto", command, env, var)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while stack.http_status(url + "/", "127.0.0.1") is None:
        if child.process.poll() is not None or time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"moto server did not start; see {child.log_path}")
        time.sleep(0.2)
    return child, url


def _create_bucket(endpoint: str, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=bucket)


class Client:
    """Closed-loop clients, one keep-alive connection each, timing every request."""

    def __init__(self, port: int, host: str, token: str, concurrency: int) -> None:
        self.port, self.host, self.token, self.concurrency = port, host, token, concurrency

    def run(
        self, jobs: list[Any], one: Callable[[http.client.HTTPConnection, Any], None]
    ) -> tuple[list[float], int]:
        """Run ``one(connection, job)`` for every job; (seconds of each, errors)."""
        timings: list[float] = []
        errors = 0
        lock = threading.Lock()
        queue = list(jobs)

        def worker() -> None:
            nonlocal errors
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                while True:
                    with lock:
                        if not queue:
                            return
                        job = queue.pop(0)
                    started = time.perf_counter()
                    try:
                        one(connection, job)
                    except Exception as exc:  # counted, and the connection renewed
                        log(f"storage request failed: {exc}")
                        connection.close()
                        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                        with lock:
                            errors += 1
                        continue
                    with lock:
                        timings.append(time.perf_counter() - started)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(self.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return timings, errors

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Host": self.host, "Authorization": f"Bearer {self.token}", **extra}


class Backend:
    """One server under test and what was uploaded through it."""

    def __init__(self, name: str, client: Client, drafts: list[str], document_type: str) -> None:
        self.name, self.client, self.drafts = name, client, drafts
        self.document_type = document_type
        self.uploaded: list[tuple[str, str]] = []  # (application id, attachment id)
        self.cursor = 0
        self.timings: dict[str, list[float]] = {"upload": [], "download": []}
        self.errors: dict[str, int] = {"upload": 0, "download": 0}

    def upload(self, count: int, document: bytes, digest: str, *, record: bool = True) -> None:
        body, content_type = _multipart(self.document_type, document)
        jobs = []
        for _ in range(count):
            jobs.append(self.drafts[self.cursor // UPLOADS_PER_DRAFT])
            self.cursor += 1
        lock = threading.Lock()

        def one(connection: http.client.HTTPConnection, draft: str) -> None:
            connection.request(
                "POST",
                f"/api/v1/applications/{draft}/attachments/",
                body=body,
                headers=self.client.headers(**{"Content-Type": content_type}),
            )
            response = connection.getresponse()
            answer = response.read()
            if response.status != 201:
                raise RuntimeError(f"upload answered {response.status}: {answer[:200]!r}")
            created = json.loads(answer)
            if created["sha256"] != digest:
                raise RuntimeError("upload stored another content")
            with lock:
                self.uploaded.append((draft, created["id"]))

        timings, errors = self.client.run(jobs, one)
        if record:
            self.timings["upload"] += timings
            self.errors["upload"] += errors

    def download(self, count: int, digest: str, *, record: bool = True) -> None:
        jobs = [self.uploaded[i % len(self.uploaded)] for i in range(count)]

        def one(connection: http.client.HTTPConnection, job: tuple[str, str]) -> None:
            draft, attachment = job
            connection.request(
                "GET",
                f"/api/v1/applications/{draft}/attachments/{attachment}/",
                headers=self.client.headers(),
            )
            response = connection.getresponse()
            content = response.read()
            if response.status == 302:  # redirect mode: fetch the signed URL, as a browser
                location = response.headers["Location"]
                with urllib.request.urlopen(location, timeout=60) as signed:
                    response, content = signed, signed.read()
            if response.status != 200:
                raise RuntimeError(f"download answered {response.status}: {content[:200]!r}")
            if hashlib.sha256(content).hexdigest() != digest:
                raise RuntimeError("download returned other bytes")

        timings, errors = self.client.run(jobs, one)
        if record:
            self.timings["download"] += timings
            self.errors["download"] += errors

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for op, timings in self.timings.items():
            ordered = sorted(timings)
            if not ordered:
                out[op] = {"count": 0, "errors": self.errors[op]}
                continue

            def pick(q: float, values: list[float] = ordered) -> float:
                return values[min(len(values) - 1, round(q * (len(values) - 1)))] * 1000

            out[op] = {
                "count": len(ordered),
                "errors": self.errors[op],
                "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
                "p50_ms": round(pick(0.50), 1),
                "p95_ms": round(pick(0.95), 1),
                "p99_ms": round(pick(0.99), 1),
                "mib_per_s_per_client": round(
                    DOCUMENT_BYTES / 1024**2 / statistics.fmean(ordered), 1
                ),
            }
        return out


def run_storage(
    config: BenchConfig, env: dict[str, str], quiet: dict[str, str], var: Path
) -> dict[str, Any]:
    """Start moto and the two servers, alternate rounds of uploads and downloads, stop all."""
    uploads = config.storage_uploads
    per_round = max(1, uploads // ROUNDS)
    drafts_each = (per_round * ROUNDS + 10) // UPLOADS_PER_DRAFT + 1
    state_path = var / "storage-state.json"
    stack.run_module(
        quiet, "benches.harness.storage_seed", "--out", str(state_path),
        "--drafts", str(drafts_each * 3),
    )  # fmt: skip
    state = json.loads(state_path.read_text())
    moto, endpoint = _start_moto(quiet, var)
    bucket = f"guichet-bench-{uuid.uuid4().hex[:8]}"
    media = var / "storage-media"
    shutil.rmtree(media, ignore_errors=True)
    workers = config.storage_workers
    fs_env = {**env, "MEDIA_ROOT": str(media), "LOG_LEVEL": "WARNING"}
    s3_env = {
        **fs_env,
        "STORAGE_S3_BUCKET": bucket,
        "STORAGE_S3_ENDPOINT_URL": endpoint,
        "STORAGE_S3_REGION": REGION,
        "STORAGE_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "STORAGE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "STORAGE_S3_ADDRESSING_STYLE": "path",
    }
    redirect_env = {**s3_env, "STORAGE_S3_DOWNLOADS": "redirect"}
    document = _document()
    digest = hashlib.sha256(document).hexdigest()
    results: dict[str, Any] = {
        "document_bytes": DOCUMENT_BYTES,
        "uploads_per_backend": per_round * ROUNDS,
        "downloads_per_backend": per_round * ROUNDS,
        "rounds": ROUNDS,
        "concurrency": config.storage_concurrency,
        "gunicorn_workers": workers,
        "s3_server": "moto server (separate process) on 127.0.0.1",
    }
    with stack.running(moto):
        _create_bucket(endpoint, bucket)
        ports: list[tuple[str, int]] = []
        with contextlib.ExitStack() as servers:
            for name, server_env in BACKENDS_ENV(fs_env, s3_env, redirect_env):
                web, port = stack.start_gunicorn(server_env, var, workers=workers)
                servers.enter_context(stack.running(web))
                ports.append((name, port))
            drafts = state["drafts"]
            backends = [
                Backend(
                    name,
                    Client(port, state["host"], state["token"], config.storage_concurrency),
                    drafts[index * drafts_each : (index + 1) * drafts_each],
                    state["document_type"],
                )
                for index, (name, port) in enumerate(ports)
            ]
            log("storage: warm-up (untimed)")
            for backend in backends:
                backend.upload(4, document, digest, record=False)
                backend.download(4, digest, record=False)
            for round_number in range(ROUNDS):
                # Rotate who goes first, so the machine's drift falls on every backend alike.
                shift = round_number % len(backends)
                order = backends[shift:] + backends[:shift]
                log(f"storage: round {round_number + 1}/{ROUNDS}")
                for backend in order:
                    backend.upload(per_round, document, digest)
                for backend in order:
                    backend.download(per_round, digest)
    for backend in backends:
        results[backend.name] = backend.summary()
    if any(backend.errors["upload"] or backend.errors["download"] for backend in backends):
        log(f"storage: errors {[(b.name, b.errors) for b in backends]}")
    stored = sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []
    results["filesystem_files"] = len(stored)
    shutil.rmtree(media, ignore_errors=True)
    return results
