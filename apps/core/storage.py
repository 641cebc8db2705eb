"""File storage that never leaves half a file, and storage errors as problem documents.

* ``AtomicFileSystemStorage`` (``STORAGES["default"]`` on local disks): a file is written under a
  hidden temporary name in its final folder, flushed to disk, then linked to its final name in
  one step. A full disk, an exceeded quota or a crash mid-write leaves no partial file under a
  name a row could point to; the temporary file is removed when the write fails.
* ``storage_errors()``: around any storage call (local or S3-compatible), turns the backend's
  failure into ``StorageFullError`` (507 ``storage_full``) or ``StorageUnavailableError`` (503
  ``storage_unavailable``), which the API answers as problem documents with ``Retry-After``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from django.core.files.storage import FileSystemStorage

from apps.core.outages import storage_error_for

logger = structlog.get_logger(__name__)

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
