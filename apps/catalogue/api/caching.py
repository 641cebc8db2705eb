"""Conditional GET for public, cacheable representations: strong ETag, 304, Cache-Control.

The ETag is a hash of the exact JSON body and the active language, so two languages never
share a tag and any change to what a client would see changes it. Responses are ``public``
(no credentials are involved) for ``max-age`` seconds and vary on ``Accept-Language``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

PUBLIC_MAX_AGE = 60


def representation_etag(body: Any, *, language: str) -> str:
    """Strong entity tag of ``body`` rendered in ``language`` (quoted, as sent)."""
    digest = hashlib.sha256(language.encode() + b"\n")
    digest.update(orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS))
    return f'"{digest.hexdigest()[:40]}"'


def _matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): ``W/`` is ignored."""
    if header.strip() == "*":
        return True
    candidates = (tag.strip() for tag in header.split(","))
    return any(tag.removeprefix("W/") == etag for tag in candidates)


def conditional_response(request: Request, body: Any, *, max_age: int = PUBLIC_MAX_AGE) -> Response:
    """``200`` with ``body``, or ``304`` without it when the client already has this version."""
    etag = representation_etag(body, language=get_language() or "fr")
    header = request.headers.get("If-None-Match", "")
    if header and _matches(header, etag):
        response = Response(status=status.HTTP_304_NOT_MODIFIED)
    else:
        response = Response(body)
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=max_age)
    patch_vary_headers(response, ("Accept-Language",))
    return response
