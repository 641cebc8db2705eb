"""Where uploaded documents, certificates and exports are kept: local files or S3 object storage.

``STORAGES["default"]`` is one of the two classes below (``config/settings/base.py`` picks S3
when ``STORAGE_S3_BUCKET`` is set). Every stored name starts with the schema of the agency it
belongs to (``<schema>/applications/...``, ``<schema>/certificates/...``); both classes refuse,
while the connection is on an agency's schema, any name outside that agency's prefix, so a
name taken from another agency (a bug, a forged row) can neither be read nor overwritten nor
deleted. On the public schema (platform maintenance: backups, migrations) every name is
allowed. Objects are private: nothing serves the storage by URL, the download views stream a
file after the application's own permission check.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible
from storages.backends.s3 import S3Storage

from apps.core.tenancy import current_schema

PUBLIC_SCHEMA = "public"


def check_agency_prefix(name: str) -> None:
    """Refuse ``name`` unless it lies under the current agency's prefix (public: anything)."""
    parts = str(name).replace("\\", "/").split("/")
    if ".." in parts:
        raise SuspiciousFileOperation("stored file names never climb directories")
    schema = current_schema()
    if schema == PUBLIC_SCHEMA:
        return
    if len(parts) < 2 or parts[0] != schema:
        raise SuspiciousFileOperation("stored file outside the current agency's prefix")


class AgencyPrefixMixin:
    """Check every name a storage operation is given against the current agency's prefix."""

    def _open(self, name: str, mode: str = "rb") -> Any:
        check_agency_prefix(name)
        return super()._open(name, mode)  # type: ignore[misc]

    def _save(self, name: str, content: Any) -> str:
        check_agency_prefix(name)
        return str(super()._save(name, content))  # type: ignore[misc]

    def delete(self, name: str) -> None:
        check_agency_prefix(name)
        super().delete(name)  # type: ignore[misc]

    def exists(self, name: str) -> bool:
        check_agency_prefix(name)
        return bool(super().exists(name))  # type: ignore[misc]

    def size(self, name: str) -> int:
        check_agency_prefix(name)
        return int(super().size(name))  # type: ignore[misc]

    def url(self, name: str | None, *args: Any, **kwargs: Any) -> str:
        check_agency_prefix(name or "")
        return str(super().url(name, *args, **kwargs))  # type: ignore[misc]


@deconstructible(path="apps.core.storage.AgencyFileSystemStorage")
class AgencyFileSystemStorage(AgencyPrefixMixin, FileSystemStorage):
    """Files under ``MEDIA_ROOT`` (the embedded default: one machine)."""


@deconstructible(path="apps.core.storage.AgencyS3Storage")
class AgencyS3Storage(AgencyPrefixMixin, S3Storage):
    """Private objects in an S3-compatible bucket, shared by every web and worker machine."""
