"""Two web processes (real gunicorn, separate local directories) serve each other's uploads.

Both processes run the test settings on the test database; a document is uploaded through the
first and downloaded through the second. On the S3 server (moto on loopback) that works; on
the filesystem default, where each machine has its own ``MEDIA_ROOT``, the second process
cannot find the file: the control that shows what the object store is for.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts.models import User
from apps.accounts.tokens import TokenKind, issue_user_tokens
from apps.agencies.models import Agency
from apps.agencies.services import agency_create
from apps.applications.models import Application
from apps.directory.models import ApplicationEntry, ServiceEntry
from tests.applications.conftest import DOC, PDF, draft, service_create
from tests.factories import UserFactory
from tests.helpers import running_database_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(
    port: int, method: str, path: str, host: str, *, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body or None,
        method=method,
        headers={"Host": host, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def multipart(
    fields: dict[str, str], name: str, filename: str, content: bytes
) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one file, and its content type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@contextmanager
def web_process(env: dict[str, str], log_path: Path) -> Iterator[int]:
    """One gunicorn (one worker) with ``env`` on a free port, until the block ends."""
    port = _free_port()
    process_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    command.append("config.wsgi:application")
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            try:
                if _request(port, "GET", "/healthz", "localhost", headers={})[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn not healthy after 90 s"
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _environment(media_root: Path, storage: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STORAGE_S3_", "PROMETHEUS_MULTIPROC_DIR", "PYTEST_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": running_database_url(),
            "DATABASE_POOL": "false",
            "MEDIA_ROOT": str(media_root),
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": "2",
            "GUNICORN_PRELOAD": "false",
            "LOG_LEVEL": "WARNING",
            **storage,
        }
    )
    return env


@contextmanager
def throwaway_agency(django_db_blocker: Any, label: str) -> Iterator[Agency]:
    """An agency dropped with its schema at the end: what the servers commit there (audit
    events, which the database never lets anyone delete) goes with it."""
    slug = f"two-web-{label}-{uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock():
        agency = agency_create(slug=slug, name_fr=slug, name_en=slug, domain=f"{slug}.localhost")
    try:
        yield agency
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ApplicationEntry.objects.filter(agency=agency).delete()
            ServiceEntry.objects.filter(agency=agency).delete()
            agency.delete(force_drop=True)


@pytest.fixture(scope="module")
def own_agency(django_db_setup: None, django_db_blocker: Any) -> Iterator[Agency]:
    """The agency of the uploads (the shared test agencies must not keep what is committed)."""
    with throwaway_agency(django_db_blocker, "a") as agency:
        yield agency


@pytest.fixture(scope="module")
def other_agency(django_db_setup: None, django_db_blocker: Any) -> Iterator[Agency]:
    """Another agency, whose host is asked for the first one's document (it records a probe)."""
    with throwaway_agency(django_db_blocker, "b") as agency:
        yield agency


@pytest.fixture
def committed_draft(
    own_agency: Agency, other_agency: Agency, django_db_blocker: Any
) -> Iterator[dict[str, Any]]:
    """A citizen's draft in the module's agency, committed so that other processes see it."""
    marker = uuid.uuid4().hex[:8]
    with django_db_blocker.unblock():
        service = service_create(own_agency.schema_name, code=f"two-web-{marker}")
        citizen = UserFactory(email=f"two-web-{marker}@example.tg")
        application = draft(
            own_agency.schema_name, citizen, attach=False, service_code=service.code
        )
        token = issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN, agency=None).access
        host = own_agency.domains.get().domain
        other_host = other_agency.domains.get().domain
    try:
        yield {
            "application": application,
            "token": token,
            "host": host,
            "other_host": other_host,
            "schema": own_agency.schema_name,
        }
    finally:
        with django_db_blocker.unblock():
            with schema_context(own_agency.schema_name):
                Application.objects.filter(pk=application.pk).delete()
            ApplicationEntry.objects.filter(citizen_id=citizen.pk).delete()
            OutstandingToken.objects.filter(user_id=citizen.pk).delete()
            # Not .delete(): its collector would look for tenant tables in the public schema.
            User.objects.filter(pk=citizen.pk)._raw_delete("default")


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("backend", ["s3", "filesystem"])
def test_an_upload_through_one_process_downloads_through_the_other(
    backend, committed_draft, s3, tmp_path
):
    storage = s3.environment() if backend == "s3" else {}
    application, token = committed_draft["application"], committed_draft["token"]
    host, schema = committed_draft["host"], committed_draft["schema"]
    auth = {"Authorization": f"Bearer {token}"}
    content = PDF + os.urandom(48 * 1024)  # under the 64 KiB limit of the service
    body, content_type = multipart({"document_type": DOC}, "file", "piece.pdf", content)
    roots = [tmp_path / "web1-media", tmp_path / "web2-media"]

    with ExitStack() as stack:
        web1, web2 = (
            stack.enter_context(web_process(_environment(root, storage), tmp_path / f"w{i}.log"))
            for i, root in enumerate(roots, start=1)
        )
        status, answer = _request(
            web1,
            "POST",
            f"/api/v1/applications/{application.id}/attachments/",
            host,
            headers={**auth, "Content-Type": content_type},
            body=body,
        )
        assert status == 201, answer
        attachment_id = json.loads(answer)["id"]
        path = f"/api/v1/applications/{application.id}/attachments/{attachment_id}/"
        status_2, downloaded = _request(web2, "GET", path, host, headers=auth)
        other_host = committed_draft["other_host"]
        status_b, answer_b = _request(web2, "GET", path, other_host, headers=auth)

    assert json.loads(answer_b)["code"] in {"application_not_found", "attachment_not_found"}
    assert status_b == 404  # another agency's host never serves this agency's document
    if backend == "s3":
        assert status_2 == 200, downloaded
        assert hashlib.sha256(downloaded).hexdigest() == hashlib.sha256(content).hexdigest()
        key = f"{schema}/applications/{application.id}/{attachment_id}.pdf"
        assert s3.keys() == [key]
        assert _files(roots[0]) == []
        assert _files(roots[1]) == []
    else:
        # Each process has its own disk: the second cannot serve what the first stored.
        assert status_2 == 404
        assert json.loads(downloaded)["code"] == "attachment_not_found"
        assert len(_files(roots[0])) == 1
        assert _files(roots[1]) == []
