"""Request-wide middleware: request id and access log, body size limit."""

from __future__ import annotations

import functools
import ipaddress
import re
import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from apps.core import metrics, outages
from apps.core.context import WorkContext, new_request_id, set_context
from apps.core.exceptions import problem_response

logger = structlog.get_logger("guichet.request")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@functools.lru_cache(maxsize=8)
def _trusted_networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: ``REMOTE_ADDR``, or, when that is a trusted reverse proxy
    (``TRUSTED_PROXIES``), the address the proxy put last in ``X-Forwarded-For`` (the deploy's
    nginx replaces the header with the address it saw, so a client cannot forge it)."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = _trusted_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if remote is None or not trusted:
        return remote
    try:
        if not any(ipaddress.ip_address(remote) in network for network in trusted):
            return remote
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        return str(ipaddress.ip_address(forwarded)) if forwarded else remote
    except ValueError:
        return remote


class RequestContextMiddleware:
    """Give every request an id, bind the log context, log one line per request.

    An incoming ``X-Request-ID`` is kept when it is well-formed (so a partner can correlate),
    otherwise a fresh one is made. The id is echoed in the ``X-Request-ID`` response header and
    in every problem document.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.static_prefix = str(settings.STATIC_URL)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else new_request_id()
        set_context(
            WorkContext(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:512],
            )
        )
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            duration = time.perf_counter() - started
        response["X-Request-ID"] = request_id
        # Static files (admin, API docs assets) are counted in the metrics, not logged one by
        # one: a page of the docs would otherwise write a dozen lines.
        if not request.path.startswith(self.static_prefix):
            # The tenancy middleware has already reset the connection: read the request's
            # agency.
            agency = getattr(getattr(request, "tenant", None), "schema_name", "public")
            logger.info(
                "request_finished",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round(duration * 1000, 2),
                agency=agency,
            )
        metrics.observe_request(request, status=response.status_code, seconds=duration)
        set_context(None)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Log unhandled exceptions once, with the request id, before handler500 answers.

        A dependency outage is not a defect: handler500 logs it as ``dependency_outage``
        (no stack trace) and answers 503.
        """
        if outages.outage_for(exception) is not None:
            return
        logger.exception("unhandled_exception", exc_type=type(exception).__name__)


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413 before any parser reads them.

    DRF's JSON parser reads the stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE does
    not protect it. Multipart uploads get the larger ``API_MAX_UPLOAD_BYTES``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        content_type = request.META.get("CONTENT_TYPE", "")
        limit = (
            settings.API_MAX_UPLOAD_BYTES
            if content_type.startswith("multipart/")
            else settings.API_MAX_BODY_BYTES
        )
        if length > limit:
            return problem_response(
                status=413,
                code="payload_too_large",
                detail=_("The request body is larger than the %(limit)d bytes allowed.")
                % {"limit": limit},
            )
        return self.get_response(request)
