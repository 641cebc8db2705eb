"""An S3 API server on loopback (moto's server mode) and settings that put storage on it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from django.test import override_settings
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCESS_KEY = "guichet-test"  # moto accepts any credentials
SECRET_KEY = "guichet-test-secret"


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 server and a fresh private bucket on it."""

    endpoint_url: str
    bucket: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def environment(self) -> dict[str, str]:
        """The ``STORAGE_S3_*`` variables a process needs to use this bucket."""
        return {
            "STORAGE_S3_BUCKET": self.bucket,
            "STORAGE_S3_ENDPOINT_URL": self.endpoint_url,
            "STORAGE_S3_REGION": REGION,
            "STORAGE_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "STORAGE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "STORAGE_S3_ADDRESSING_STYLE": "path",
        }

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, on a free port, for the whole run."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str) -> S3Server:
    """A new, private bucket on the loopback S3 server."""
    server = S3Server(endpoint_url=s3_endpoint, bucket=f"guichet-{uuid.uuid4().hex[:12]}")
    server.client().create_bucket(Bucket=server.bucket)
    return server


@pytest.fixture
def s3_storage(s3: S3Server) -> Iterator[S3Server]:
    """``STORAGES["default"]`` on the loopback bucket, as ``config/settings/base.py`` builds it."""
    from config.settings import base

    with pytest.MonkeyPatch.context() as patch:
        for name, value in s3.environment().items():
            patch.setenv(name, value)
        default = base.default_storage(s3.bucket)
    storages = {
        "default": default,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield s3


# Fixtures of the application and certificate tests, used here on object storage.
from tests.applications.conftest import media_root, service_a, service_b  # noqa: E402, F401
from tests.certificates.conftest import agent, approved  # noqa: E402, F401
