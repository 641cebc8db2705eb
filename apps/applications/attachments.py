"""Files attached to applications: what they really are, and where they are kept.

The type of a file is sniffed from its first bytes (``filetype``), never taken from its name or
the ``Content-Type`` the client sent; executables and scripts are refused whatever a document
type accepts. Files live in the default storage under ``<agency schema>/applications/<id>/``:
no URL route serves that storage, only the authenticated download views do.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import IO, Any
from uuid import UUID

import filetype
import structlog
from django.core.files.base import File
from django.core.files.storage import Storage, storages
from django.http.response import HttpResponseBase

from apps.core.storage import open_for_download, storage_errors, stored_file_download

logger = structlog.get_logger(__name__)

# Enough for every signature filetype knows (it reads at most 8 KiB itself).
SNIFF_BYTES = 8192
HASH_CHUNK = 64 * 1024

# Refused for every document type, even if an admin listed the type by mistake.
EXECUTABLE_MIME_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-mach-binary",
        "application/x-dosexec",
        "application/java-archive",
        "application/x-shockwave-flash",
        "application/wasm",
        "application/x-google-chrome-extension",
        "application/x-deb",
        "application/x-rpm",
    }
)
# Signatures checked before filetype's guess: native executables of the usual platforms,
# Java classes and anything starting with a shebang line.
EXECUTABLE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-msdownload"),
    (b"\xfe\xed\xfa\xce", "application/x-mach-binary"),
    (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe", "application/x-mach-binary"),
    (b"#!", "text/x-script"),
)
# Script markers that turn a "document" into active content when opened by a browser.
SCRIPT_MARKERS = (b"<script", b"<?php", b"<%@", b"<html", b"<svg")

EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/tiff": ".tif",
}


@dataclass(frozen=True)
class Sniffed:
    """What the content of a file is."""

    mime_type: str | None  # None: not a type we can recognise
    is_executable: bool


def sniff(head: bytes) -> Sniffed:
    """The type of a file from its first bytes (``SNIFF_BYTES`` are enough)."""
    for signature, mime in EXECUTABLE_SIGNATURES:
        if head.startswith(signature):
            return Sniffed(mime_type=mime, is_executable=True)
    lowered = head[:1024].lstrip().lower()
    if any(lowered.startswith(marker) for marker in SCRIPT_MARKERS):
        return Sniffed(mime_type="text/html", is_executable=True)
    kind = filetype.guess(head)
    if kind is None:
        return Sniffed(mime_type=None, is_executable=False)
    return Sniffed(mime_type=kind.mime, is_executable=kind.mime in EXECUTABLE_MIME_TYPES)


def read_head(upload: IO[bytes]) -> bytes:
    """The first bytes of an upload, leaving it at its start."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return head


def sha256_of(upload: Any) -> str:
    """SHA-256 (hex) of an uploaded file's content, leaving it at its start."""
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks(HASH_CHUNK):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def storage() -> Storage:
    """Where attachments are kept (``STORAGES["default"]``: local files or S3 in production)."""
    return storages["default"]


def storage_path(*, schema: str, application_id: UUID, attachment_id: UUID, mime: str) -> str:
    """``<schema>/applications/<application>/<attachment><ext>``: the agency's own prefix."""
    extension = EXTENSIONS.get(mime, "")
    return f"{schema}/applications/{application_id}/{attachment_id}{extension}"


def store(*, path: str, upload: Any) -> str:
    """Write ``upload`` at ``path``; the name actually used is returned.

    A full store raises ``StorageFullError`` (507), an unwritable one
    ``StorageUnavailableError`` (503); nothing is left under ``path`` then.
    """
    upload.seek(0)
    with storage_errors():
        return str(storage().save(path, File(upload)))


def discard(path: str) -> None:
    """Delete a stored file if it is there (cleanup after a failed or undone write).

    Best effort: it runs while another error is being raised, which must not be masked. A file
    that cannot be deleted (a store turned read-only) is logged.
    """
    if not path:
        return
    try:
        if storage().exists(path):
            storage().delete(path)
    except Exception as exc:
        logger.warning("attachment_discard_failed", exc_type=type(exc).__name__)


def open_stored(path: str) -> IO[bytes]:
    """The stored file, opened for streaming to a client (its ``size`` is known)."""
    return open_for_download(storage(), path)


def download_response(path: str, *, filename: str, content_type: str) -> HttpResponseBase:
    """The download of a stored file (streamed, or a redirect to a signed URL)."""
    return stored_file_download(storage(), path, filename=filename, content_type=content_type)


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_file_name(name: str | None, *, mime: str) -> str:
    """A harmless display name: no path, no control characters, the extension of the content."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem = _UNSAFE_NAME.sub("_", base.rsplit(".", 1)[0]).strip(" ._")[:100] or "document"
    return stem + EXTENSIONS.get(mime, "")
