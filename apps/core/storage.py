"""Where uploaded documents, certificates and exports are kept: local files or S3 object storage.

``STORAGES["default"]`` is ``AgencyFileSystemStorage`` below or ``AgencyS3Storage``
(apps/core/storage_s3.py, imported only when configured: ``config/settings/base.py`` picks it
when ``STORAGE_S3_BUCKET`` is set). Every stored name starts with the schema of the agency it
belongs to (``<schema>/applications/...``, ``<schema>/certificates/...``); both classes refuse,
while the connection is on an agency's schema, any name outside that agency's prefix, so a
name taken from another agency (a bug, a forged row) can neither be read nor overwritten nor
deleted. On the public schema (platform maintenance: backups, migrations) every name is
allowed. Objects are private: nothing serves the storage by URL; the download views check the
caller's right first, then stream the file (``stored_file_download``) or, with
``STORAGE_S3_DOWNLOADS=redirect``, answer with a signed URL valid ``STORAGE_S3_URL_SECONDS``.

Failures (issue 13): on local disks ``AtomicFileSystemStorage`` writes each file under a hidden
temporary name in its final folder, flushes it, then links it to its final name, so a full
disk, an exceeded quota or a crash mid-write leaves no partial file under a name a row could
point to (an S3 object is written whole or not at all). ``storage_errors()`` turns any
backend's failure into ``StorageFullError`` (507 ``storage_full``) or
``StorageUnavailableError`` (503 ``storage_unavailable``), answered as problem documents.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

import structlog
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.deconstruct import deconstructible

from apps.core.outages import storage_error_for
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)

PUBLIC_SCHEMA = "public"
TEMPORARY_PREFIX = ".partial-"


@contextmanager
def storage_errors() -> Iterator[None]:
    """Re-raise a storage backend's failure as the matching 507/503 application error."""
    try:
        yield
    except Exception as exc:
        problem = storage_error_for(exc)
        if problem is None or problem is exc:
            raise
        logger.warning("storage_write_failed", code=problem.code, exc_type=type(exc).__name__)
        raise problem from exc


class AtomicFileSystemStorage(FileSystemStorage):
    """``FileSystemStorage`` whose files appear whole or not at all (see the module docstring)."""

    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        self._make_directory(directory)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(handle, "wb") as output:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks():
                    output.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                output.flush()
                os.fsync(output.fileno())  # ENOSPC of a delayed allocation shows up here
            mode = self.file_permissions_mode if self.file_permissions_mode is not None else 0o644
            os.chmod(temporary, mode)
            while True:
                try:
                    # link() never replaces an existing file (like Django's O_EXCL open).
                    os.link(temporary, full_path)
                    break
                except FileExistsError:
                    name = self.get_available_name(name)
                    full_path = self.path(name)
        finally:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            except OSError as exc:  # a file system turned read-only meanwhile: say so
                logger.warning("storage_temporary_left", exc_type=type(exc).__name__)
        return str(name).replace("\\", "/")

    def _make_directory(self, directory: str) -> None:
        if self.directory_permissions_mode is None:
            os.makedirs(directory, exist_ok=True)
            return
        old_umask = os.umask(0o777 & ~self.directory_permissions_mode)
        try:
            os.makedirs(directory, self.directory_permissions_mode, exist_ok=True)
        finally:
            os.umask(old_umask)


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
class AgencyFileSystemStorage(AgencyPrefixMixin, AtomicFileSystemStorage):
    """Files under ``MEDIA_ROOT`` (the embedded default: one machine)."""

    def open_for_download(self, name: str) -> IO[bytes]:
        """The file opened for streaming to a client (``size`` known)."""
        handle: IO[bytes] = self.open(name, "rb")
        return handle


def open_for_download(storage: Any, name: str) -> IO[bytes]:
    """``name`` opened for streaming to a client, by whichever storage holds it."""
    opener = getattr(storage, "open_for_download", None)
    if opener is not None:
        return cast(IO[bytes], opener(name))
    return cast(IO[bytes], storage.open(name, "rb"))


# Read and sent in blocks of this size (FileResponse's default, 4 KiB, costs a system call and
# a Python loop per 4 KiB).
DOWNLOAD_BLOCK_BYTES = 256 * 1024


def stored_file_response(handle: IO[bytes], *, filename: str, content_type: str) -> FileResponse:
    """A download of ``handle`` (from ``open_for_download``), with its ``Content-Length``."""
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    response.block_size = DOWNLOAD_BLOCK_BYTES
    size = getattr(handle, "size", None)
    if not response.has_header("Content-Length") and size is not None:
        response["Content-Length"] = str(size)
    return response


def stored_file_download(
    storage: Any, name: str, *, filename: str, content_type: str
) -> HttpResponseBase:
    """The answer of a download view, once the caller's right to the file is checked.

    The file streamed by this process, or, when the storage is set to redirect
    (``STORAGE_S3_DOWNLOADS=redirect``), a 302 to a signed URL of the object store valid for
    ``STORAGE_S3_URL_SECONDS``. Raises ``FileNotFoundError`` (streaming only: a redirect does
    not look first) and ``SuspiciousFileOperation``.
    """
    signer = getattr(storage, "signed_download_url", None)
    url = signer(name, filename=filename, content_type=content_type) if signer else None
    if url:
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response
    return stored_file_response(
        open_for_download(storage, name), filename=filename, content_type=content_type
    )
