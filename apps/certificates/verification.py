"""What a verification answers, cached in the hot-key store.

The answer for a code (valid / revoked with the certificate's public facts, or unknown) is
kept under ``hot_key(schema, "certverify", sha256(code))`` for
``CERTIFICATE_VERIFY_CACHE_SECONDS``: partners checking the same certificates again, and
anyone hammering the endpoint, are answered without touching PostgreSQL.

Both outcomes are cached the same way, so timing says whether a code was looked up recently,
never whether it exists (the first lookup of any code takes the database's constant-time path,
``certificate_get_by_code``). A revocation replaces the entry after its commit. If the store is
unreachable the database answers (the cache fails open; it is not a security decision).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import fdb.tuple
import orjson
import structlog
from django.conf import settings
from django.db import transaction

from apps.certificates.codes import code_digest
from apps.certificates.models import Certificate, CertificateStatus
from apps.certificates.selectors import certificate_get_by_code
from apps.core.tenancy import current_schema
from apps.hotkeys.base import StoreUnavailable
from apps.hotkeys.keys import hot_prefix
from apps.hotkeys.registry import get_store

logger = structlog.get_logger(__name__)

NAMESPACE = "certverify"
_UNKNOWN = b"null"


def verification_record(certificate: Certificate) -> dict[str, Any]:
    """The public facts of a certificate, as the verification API shows them."""
    return {
        "status": ("revoked" if certificate.status == CertificateStatus.REVOKED else "valid"),
        "code": certificate.code,
        "reference": certificate.reference,
        "holder": certificate.holder_name,
        "service_code": certificate.service_code,
        "service_name_fr": certificate.service_name_fr,
        "service_name_en": certificate.service_name_en,
        "issued_at": certificate.issued_at.isoformat(),
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
        "document_sha256": certificate.sha256,
        "content_sha256": certificate.content_sha256,
        "key_id": certificate.key_id,
    }


@lru_cache(maxsize=1024)
def _prefix(schema: str) -> bytes:
    return hot_prefix(schema, NAMESPACE)


def _key(digest: str, schema: str | None = None) -> bytes:
    """``hot_key(schema, NAMESPACE, digest)``, with the schema's prefix encoded once.

    The tuple layer encodes a tuple as the concatenation of its elements' encodings.
    """
    return _prefix(schema or current_schema()) + bytes(fdb.tuple.pack((digest,)))


def _ttl() -> float:
    return float(getattr(settings, "CERTIFICATE_VERIFY_CACHE_SECONDS", 0) or 0)


def verification_lookup(*, code: str) -> dict[str, Any] | None:
    """The verification record of ``code`` in the current agency, or None if unknown."""
    ttl = _ttl()
    key = _key(code_digest(code))
    if ttl > 0:
        try:
            cached = get_store().get(key)
        except StoreUnavailable:
            logger.warning("certificate_verify_cache_unavailable")
            cached = None
        if cached is not None:
            record: dict[str, Any] | None = orjson.loads(cached)
            return record
    certificate = certificate_get_by_code(code=code)
    found = verification_record(certificate) if certificate is not None else None
    if ttl > 0:
        _store(key, found, ttl)
    return found


def _store(key: bytes, record: dict[str, Any] | None, ttl: float) -> None:
    try:
        get_store().set(key, orjson.dumps(record) if record is not None else _UNKNOWN, ttl=ttl)
    except StoreUnavailable:
        logger.warning("certificate_verify_cache_unavailable")


def verification_refresh_on_commit(certificate: Certificate) -> None:
    """After the caller's transaction commits, cache the certificate's new record."""
    ttl = _ttl()
    if ttl <= 0:
        return
    key = _key(certificate.code_hash)
    record = verification_record(certificate)
    transaction.on_commit(lambda: _store(key, record, ttl))
