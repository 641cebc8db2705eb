"""Answers while a part of the platform is down: 503 (or 507) problem documents, never a 500.

An outage is an exception that says a dependency cannot serve right now, not that the request
or the code is wrong: PostgreSQL unreachable (``OperationalError`` / ``InterfaceError``, a pool
timeout), the broker refusing a publish, the hot-key store closed or full, the file storage
full or read-only. ``outage_for`` recognises them wherever they are raised; the DRF exception
handler, the ``handler500`` view and the tenancy middleware all answer them with
``outage_response``:

* API and other non-console paths: an RFC 9457 problem document with a stable ``code``
  (``database_unavailable``, ``broker_unavailable``, ``service_unavailable`` for the hot-key
  store, ``storage_unavailable``, ``storage_full``), the failing ``part`` and ``Retry-After``;
* the console (``/admin/``): a French maintenance page (``templates/maintenance.html``), 503,
  no stack trace.

Each one is logged once (``dependency_outage``, part and exception class only) and counted in
``guichet_outage_responses_total{part}``.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from apps.core import metrics
from apps.core.errors import ApplicationError, ServiceUnavailableError

logger = structlog.get_logger(__name__)

# errno values that mean "no space left" (507) rather than "cannot write here now" (503).
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# errno values of a file system that refuses writes or is broken (503).
UNAVAILABLE_ERRNOS = frozenset(
    {errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.ENODEV, errno.ESTALE}
)
# Error codes of S3-compatible stores meaning the bucket or the server is out of space/quota.
S3_FULL_CODES = frozenset(
    {"QuotaExceeded", "XMinioStorageFull", "StorageFull", "XMinioAdminBucketQuotaExceeded"}
)
CONSOLE_PREFIX = "/admin/"


class StorageFullError(ApplicationError):
    """The file storage has no space (or quota) left for this file (507)."""

    status = 507
    code = "storage_full"
    part = "storage"
    default_detail = _("The document store is full. Please try again later.")


class StorageUnavailableError(ApplicationError):
    """The file storage cannot be written to right now (503)."""

    status = 503
    code = "storage_unavailable"
    part = "storage"
    default_detail = _("The document store is temporarily unavailable. Please try again shortly.")


@dataclass(frozen=True)
class Outage:
    """A dependency that cannot serve: which part, and the problem it is answered with."""

    part: str
    code: str
    status: int
    detail: Any


DATABASE = Outage(
    part="database",
    code="database_unavailable",
    status=503,
    detail=_("The database is temporarily unavailable. Please try again shortly."),
)
BROKER = Outage(
    part="broker",
    code="broker_unavailable",
    status=503,
    detail=_("Background processing is temporarily unavailable. Please try again shortly."),
)
HOTKEYS = Outage(
    part="hotkeys",
    # The code the security checks have always answered with (stable API): the failing part
    # is named by the ``part`` member.
    code="service_unavailable",
    status=503,
    detail=_("The service is temporarily unavailable. Please try again shortly."),
)
STORAGE_FULL = Outage(
    part="storage", code="storage_full", status=507, detail=StorageFullError.default_detail
)
STORAGE_UNAVAILABLE = Outage(
    part="storage",
    code="storage_unavailable",
    status=503,
    detail=StorageUnavailableError.default_detail,
)


def storage_error_for(exc: BaseException) -> ApplicationError | None:
    """The storage problem an exception raised by a storage backend stands for, if any.

    ``OSError`` by errno (a full disk or quota -> 507, read-only or broken -> 503) and the
    errors of S3-compatible stores (botocore, recognised by name so that the dependency stays
    optional): a quota or "storage full" code -> 507, any other client or endpoint error -> 503.
    """
    if isinstance(exc, StorageFullError | StorageUnavailableError):
        return exc
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in FULL_ERRNOS:
            return StorageFullError()
        if exc.errno in UNAVAILABLE_ERRNOS:
            return StorageUnavailableError()
        return None
    module = type(exc).__module__ or ""
    if module.startswith(("botocore.", "boto3.", "s3transfer.")):
        response = getattr(exc, "response", None) or {}
        code = str((response.get("Error") or {}).get("Code", ""))
        return StorageFullError() if code in S3_FULL_CODES else StorageUnavailableError()
    return None


def outage_for(exc: BaseException) -> Outage | None:
    """The outage ``exc`` reports, or None when it is not a dependency being down."""
    from apps.hotkeys.base import StoreUnavailable

    if isinstance(exc, OperationalError | InterfaceError):
        return DATABASE
    if isinstance(exc, StoreUnavailable):
        return HOTKEYS
    if isinstance(exc, ServiceUnavailableError):
        # Raised by the security checks (lockout, one-time codes) when the hot-key store fails.
        return Outage(part="hotkeys", code=exc.code, status=exc.status, detail=exc.detail)
    if isinstance(exc, StorageFullError):
        return STORAGE_FULL
    if isinstance(exc, StorageUnavailableError):
        return STORAGE_UNAVAILABLE
    if _is_broker_error(exc):
        return BROKER
    return None


def _is_broker_error(exc: BaseException) -> bool:
    # Celery re-raises the transport's connection errors as kombu's OperationalError when a
    # publish finds no broker (``Connection._reraise_as_library_errors``).
    from kombu.exceptions import OperationalError as KombuOperationalError

    return isinstance(exc, KombuOperationalError)


def retry_after_seconds() -> int:
    """Seconds a client is told to wait (``OUTAGE_RETRY_AFTER_SECONDS``)."""
    return int(getattr(settings, "OUTAGE_RETRY_AFTER_SECONDS", 5))


def record(outage: Outage, exc: BaseException | None = None) -> None:
    """Log and count one request answered with an outage."""
    logger.warning(
        "dependency_outage",
        part=outage.part,
        code=outage.code,
        exc_type=type(exc).__name__ if exc is not None else None,
    )
    metrics.OUTAGES.labels(part=outage.part).inc()


def is_console(request: HttpRequest | None) -> bool:
    """Whether the request is for the admin console (answered in HTML, not JSON)."""
    return bool(request is not None and request.path.startswith(CONSOLE_PREFIX))


def outage_response(request: HttpRequest | None, outage: Outage) -> HttpResponse:
    """The answer to a request that met ``outage``: a problem document or the console's page."""
    from apps.core.exceptions import problem_response

    headers = {"Retry-After": str(retry_after_seconds())}
    if is_console(request):
        response = HttpResponse(
            render_to_string("maintenance.html", {"part": outage.part}),
            status=503,
            content_type="text/html; charset=utf-8",
        )
        response["Retry-After"] = headers["Retry-After"]
        response["Cache-Control"] = "no-store"
        return response
    return problem_response(
        status=outage.status,
        code=outage.code,
        detail=outage.detail,
        headers=headers,
        extra={"part": outage.part},
    )
