"""Storage failures are clean: a full disk answers 507 ``storage_full``, a read-only one 503
``storage_unavailable``, and neither leaves a partial file or a row (real tmpfs file systems)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from apps.applications.models import Attachment
from apps.core.outages import StorageFullError, storage_error_for
from tests.applications.conftest import DOC, PDF, draft, upload
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.filesystems import Filesystem, tmpfs
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

# Big enough to need several pages, small enough for the document type's 64 KiB limit.
DOCUMENT = PDF + b"%" * 40_000


@pytest.fixture
def disk(tmp_path: Path, settings: Any) -> Iterator[Filesystem]:
    """MEDIA_ROOT on a 512 KiB file system of its own."""
    with tmpfs(tmp_path / "disk", size="512k") as filesystem:
        settings.MEDIA_ROOT = str(filesystem.path / "media")
        yield filesystem


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def post(api: Any, tokens: Any, citizen: Any, application: Any) -> Any:
    client = api(HOST_A, tokens(citizen).access)
    client.raise_request_exception = False
    return client.post(
        f"/api/v1/applications/{application.id}/attachments/",
        {"document_type": DOC, "file": upload(DOCUMENT)},
        format="multipart",
    )


def no_attachment(application: Any) -> bool:
    with schema_context("agence_a"):
        return not Attachment.objects.filter(application_id=application.id).exists()


def test_an_upload_on_a_full_disk_is_507_and_leaves_nothing(api, service_a, citizen, tokens, disk):
    application = draft("agence_a", citizen, attach=False)
    (disk.path / "media").mkdir()
    disk.fill()

    response = post(api, tokens, citizen, application)

    body = assert_problem(response, 507, "storage_full")
    assert body["part"] == "storage"
    assert response["Retry-After"] == "5"
    assert files_under(disk.path / "media") == []  # no half-written file, no temporary
    assert no_attachment(application)

    disk.free()  # space is freed: the same upload goes through, no restart
    assert post(api, tokens, citizen, application).status_code == 201


def test_an_upload_on_a_read_only_disk_is_503_and_leaves_nothing(
    api, service_a, citizen, tokens, disk
):
    application = draft("agence_a", citizen, attach=False)
    (disk.path / "media").mkdir()
    disk.read_only()

    response = post(api, tokens, citizen, application)

    body = assert_problem(response, 503, "storage_unavailable")
    assert body["part"] == "storage"
    assert no_attachment(application)

    disk.writable()
    assert post(api, tokens, citizen, application).status_code == 201
    assert len(files_under(disk.path / "media")) == 1


def test_readyz_names_the_storage_when_it_is_full_or_read_only(api, disk):
    (disk.path / "media").mkdir()
    disk.fill()
    full = api(PUBLIC_HOST).get("/readyz")
    disk.free()
    disk.read_only()
    read_only = api(PUBLIC_HOST).get("/readyz")
    disk.writable()
    fixed = api(PUBLIC_HOST).get("/readyz")

    assert assert_problem(full, 503, "not_ready")["checks"]["storage"] == "full"
    assert assert_problem(read_only, 503, "not_ready")["checks"]["storage"] == "unavailable"
    assert fixed.status_code == 200
    assert files_under(disk.path / "media") == []  # the probe cleans up after itself


def test_object_store_errors_map_to_their_codes() -> None:
    class ClientError(Exception):  # the shape of botocore's, recognised by module and code
        def __init__(self, code: str) -> None:
            self.response = {"Error": {"Code": code}}

    ClientError.__module__ = "botocore.exceptions"

    assert isinstance(storage_error_for(ClientError("QuotaExceeded")), StorageFullError)
    assert storage_error_for(ClientError("SlowDown")).code == "storage_unavailable"
    assert storage_error_for(ValueError("not storage")) is None
