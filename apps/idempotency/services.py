"""Idempotent execution of creating requests (``Idempotency-Key``).

Two layers, so that an outage of either one never lets a duplicate through:

* an **in-flight marker** in the hot-key store (``compare_and_set`` with a short TTL) answers a
  retry that arrives while the first request is still running with 409 at once;
* the **durable record** (``IdempotencyRecord``) is inserted at the start of the request's
  PostgreSQL transaction and completed before it commits, in the same transaction as the
  view's work. Its unique constraint on ``(scope, caller, key)`` makes a concurrent request
  wait for the first to finish and then replay its answer. With the hot-key store down the
  decorator keeps working from PostgreSQL alone (a concurrent retry then waits instead of
  getting 409).

Only successful answers (status < 400) are stored. A 4xx/5xx answer is not final: the record
is dropped (an exception rolls the whole transaction back; a returned error response keeps the
view's own writes but not the record), so the client may fix the request and retry with the
same key. Records are kept for ``IDEMPOTENCY_RECORD_TTL_SECONDS`` (24 h) and then purged
(``tasks.idempotency_purge_expired``); an expired record no longer answers.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.context import get_context
from apps.core.middleware import client_ip
from apps.hotkeys.base import StoreUnavailable
from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store
from apps.idempotency.errors import (
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
)
from apps.idempotency.models import IdempotencyRecord

logger = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
HOTKEY_NAMESPACE = "idempotency"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY_RE = re.compile(KEY_PATTERN)


def record_ttl() -> timedelta:
    """How long a completed answer is replayed (``IDEMPOTENCY_RECORD_TTL_SECONDS``)."""
    return timedelta(seconds=settings.IDEMPOTENCY_RECORD_TTL_SECONDS)


def parse_key(raw: str | None) -> str | None:
    """The ``Idempotency-Key`` header value, ``None`` when absent; 400 when malformed."""
    if raw is None:
        return None
    if not _KEY_RE.match(raw):
        raise IdempotencyKeyInvalid()
    return raw


def _canonical(value: Any) -> Any:
    """A JSON-ready form of parsed request data in which key order does not matter."""
    if isinstance(value, QueryDict):
        return {str(name): [_canonical(v) for v in value.getlist(name)] for name in value}
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "type": value.content_type, "sha256": digest.hexdigest()}
    if isinstance(value, dict):
        return {str(name): _canonical(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def request_fingerprint(request: Request) -> str:
    """SHA-256 (hex) of the method, the path with its query, and the canonical body.

    The body is the parsed data re-serialised with sorted keys, so ``{"a":1,"b":2}`` and
    ``{ "b": 2, "a": 1 }`` are the same request; uploaded files count by their content.
    """
    body = json.dumps(
        _canonical(request.data),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    ).encode()
    digest = hashlib.sha256()
    for part in (request.method or "").encode(), request.get_full_path().encode(), body:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def caller_identity(request: Request) -> str:
    """``<token kind>:<sub>`` for a token holder, ``ip:<address>`` for an anonymous caller."""
    token = request.auth
    if token is not None and hasattr(token, "get"):
        kind = token.get("kind")
        sub = token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
        if kind and sub:
            return f"{kind}:{sub}"
    return f"ip:{client_ip(request._request) or get_context().ip or 'unknown'}"


@dataclass(frozen=True)
class _Marker:
    """An in-flight marker this process set, released with compare-and-set."""

    key: bytes
    value: bytes


def _marker_key(scope: str, caller: str, key: str) -> bytes:
    # The client's key is hashed: it may be 255 bytes long and keys are limited to 511.
    digest = hashlib.sha256(key.encode()).digest()
    schema = str(cast(Any, connection).schema_name)
    return hot_key(schema, HOTKEY_NAMESPACE, scope, caller, digest)


def _acquire_marker(scope: str, caller: str, key: str, fingerprint: str) -> _Marker | None:
    """Mark the key as in flight, or raise 409 / 422 if another request holds it.

    Returns ``None`` when the store is unreachable: PostgreSQL alone then keeps duplicates out.
    """
    marker_key = _marker_key(scope, caller, key)
    value = bytes.fromhex(fingerprint) + secrets.token_bytes(16)
    try:
        store = get_store()
        if store.compare_and_set(
            marker_key, None, value, ttl=settings.IDEMPOTENCY_INFLIGHT_TTL_SECONDS
        ):
            return _Marker(marker_key, value)
        current = store.get(marker_key)
    except StoreUnavailable:
        logger.warning("idempotency_store_unavailable", scope=scope)
        return None
    if current is not None and current[:32] != value[:32]:
        raise IdempotencyKeyReused()
    raise IdempotencyInProgress()


def _release_marker(marker: _Marker | None) -> None:
    if marker is None:
        return
    try:
        get_store().compare_and_set(marker.key, marker.value, None)
    except StoreUnavailable:  # it expires on its own
        logger.warning("idempotency_store_unavailable", phase="release")


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    """The stored answer, or 422 if the key came with another request."""
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.status_code is None:  # pragma: no cover - only visible inside its own transaction
        raise IdempotencyInProgress()
    logger.info("idempotent_replay", scope=record.scope, status=record.status_code)
    return Response(
        record.response_body, status=record.status_code, headers={REPLAYED_HEADER: "true"}
    )


def _find(scope: str, caller: str, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(scope=scope, caller=caller, key=key).first()


def _expired_before() -> datetime:
    return timezone.now() - record_ttl()


def _is_live(record: IdempotencyRecord) -> bool:
    return bool(record.created_at > _expired_before())


def idempotent_execute(
    *, scope: str, caller: str, key: str, fingerprint: str, run: Callable[[], Response]
) -> Response:
    """Run ``run`` once per ``(scope, caller, key)`` and replay its answer to retries.

    Same key and fingerprint after completion: the stored answer with ``Idempotent-Replayed:
    true``, without running ``run``. Same key, other fingerprint: 422
    ``idempotency_key_reused``. Same key while the first is running: 409
    ``idempotency_in_progress``. ``run`` executes inside ``transaction.atomic`` together with
    the record's insertion; side effects belong in ``transaction.on_commit``.

    The record is claimed first, in one statement (``INSERT ... ON CONFLICT DO NOTHING``); only
    when the key exists already is it read (replay, or a stale record replaced). ``run`` and
    the final update of the record go through ``apps.core.batching.pipelined_writes``: the
    writes ride with the next read and the update of the record.
    """
    from apps.core.batching import pipelined_writes, resolved

    marker = _acquire_marker(scope, caller, key, fingerprint)
    try:
        with transaction.atomic():
            record = _claim(scope, caller, key, fingerprint)
            if record is None:
                existing = _find(scope, caller, key)
                if existing is None:  # pragma: no cover - it rolled back in between
                    raise IdempotencyInProgress()
                if _is_live(existing):
                    return _replay(existing, fingerprint)
                IdempotencyRecord.objects.filter(
                    scope=scope, caller=caller, key=key, created_at__lte=_expired_before()
                ).delete()
                record = _claim(scope, caller, key, fingerprint)
                if record is None:  # pragma: no cover - a concurrent retry won the race
                    raise IdempotencyInProgress()
            with pipelined_writes():
                response = run()
                if response.status_code < 400:
                    record.status_code = response.status_code
                    record.response_body = response.data
                    record.save(update_fields=["status_code", "response_body"])
                else:
                    record.delete()
            # Values claimed as the writes were sent (e.g. the reference of a submit).
            response.data = resolved(response.data)
            return response
    finally:
        _release_marker(marker)


_CLAIM_FIELDS = tuple(IdempotencyRecord._meta.concrete_fields)
# Built once from the model's own column names (no outside input).
_CLAIM_SQL = (  # noqa: S608
    'INSERT INTO "{table}" ({columns}) VALUES ({placeholders}) '
    'ON CONFLICT DO NOTHING RETURNING "id"'
).format(
    table=IdempotencyRecord._meta.db_table,
    columns=", ".join(f'"{field.column}"' for field in _CLAIM_FIELDS),
    placeholders=", ".join(["%s"] * len(_CLAIM_FIELDS)),
)


def _claim(scope: str, caller: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the in-flight record in one statement; None when the key exists already."""
    record = IdempotencyRecord(scope=scope, caller=caller, key=key, fingerprint=fingerprint)
    params = [
        field.get_db_prep_save(getattr(record, field.attname), connection)
        for field in _CLAIM_FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, params)
        inserted = cursor.fetchone()
    if inserted is None:
        return None
    record._state.adding = False
    record._state.db = connection.alias
    return record


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete this schema's records older than the TTL; return how many."""
    cutoff = (now or timezone.now()) - record_ttl()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted
