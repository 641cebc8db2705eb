"""An object store that cannot take the file: 503 ``storage_unavailable``, no row (real S3 API
server on loopback, and a closed port for an unreachable one)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from apps.applications.models import Attachment
from tests.applications.conftest import DOC, PDF, draft, upload
from tests.conftest import HOST_A
from tests.helpers import assert_problem
from tests.storage.conftest import S3Server

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _storages(s3: S3Server, **overrides: str) -> dict[str, Any]:
    from config.settings import base

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**s3.environment(), **overrides}.items():
            patch.setenv(name, value)
        default = base.default_storage(overrides.get("STORAGE_S3_BUCKET", s3.bucket))
    return {
        "default": default,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }


@pytest.fixture(params=["unreachable", "missing-bucket"])
def broken_store(request: pytest.FixtureRequest, s3: S3Server) -> Iterator[str]:
    """The object store refusing writes: nothing listens at its address, or no such bucket."""
    if request.param == "unreachable":
        storages = _storages(s3, STORAGE_S3_ENDPOINT_URL=f"http://127.0.0.1:{_closed_port()}")
    else:
        storages = _storages(s3, STORAGE_S3_BUCKET=f"{s3.bucket}-gone")
    with override_settings(STORAGES=storages):
        yield request.param


def test_an_object_store_that_refuses_the_upload_is_503_and_records_nothing(
    api, service_a, citizen, tokens, broken_store
):
    application = draft("agence_a", citizen, attach=False)
    client = api(HOST_A, tokens(citizen).access)
    client.raise_request_exception = False

    response = client.post(
        f"/api/v1/applications/{application.id}/attachments/",
        {"document_type": DOC, "file": upload(PDF)},
        format="multipart",
    )

    body = assert_problem(response, 503, "storage_unavailable")
    assert body["part"] == "storage"
    assert response["Retry-After"] == "5"
    with schema_context("agence_a"):
        assert not Attachment.objects.filter(application_id=application.id).exists()
