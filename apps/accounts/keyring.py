"""The key ring: asymmetric token-signing keys with identifiers and history.

Tokens are signed with Ed25519 (JWS ``EdDSA``) and carry the signing key's ``kid`` in their
header. Keys live in the public schema (``SigningKey``): the public key in clear (published as
a JWKS at ``/.well-known/jwks.json``), the private key encrypted with Fernet under a key
derived (HKDF-SHA256) from ``KEYRING_ENCRYPTION_KEY``, which only the environment holds. A
database dump alone signs nothing.

Life of a key (``docs/keys.md``): ``keys_rotate --kind jwt`` creates a key and makes it
``active``; the previous one becomes ``verifying`` until ``verify_until`` = now + the longest
token lifetime, so every token it signed still verifies until it expires (nobody is signed
out), then verifies nothing and is marked ``retired``. ``--revoke KID`` retires a key at once
(compromise: its tokens stop working).

Kinds (``KEY_KINDS``, one ``KindPolicy`` entry each): ``jwt`` (tokens, Ed25519), ``certificates``
(one ring per agency schema, ECDSA P-256 so PDF readers check the PAdES signature; each key
gets an X.509 certificate from the platform CA), ``ca`` (the platform certification authority,
ECDSA P-256, self-signed root), ``webhooks`` (Ed25519 signature of deliveries) and ``audit``
(the audit log's signed tree heads, Ed25519). Another kind
is one more entry in ``KEY_KINDS`` (and its ``KeyKind`` choice).

Each process keeps the ring in memory for ``KEYRING_CACHE_SECONDS``; a token naming a ``kid``
the process does not know makes it re-read the ring (at most once a second), so a key made
active by another process verifies everywhere at once.
"""

from __future__ import annotations

import base64
import importlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
import structlog
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import KeyKind, KeyStatus, SigningKey
from apps.audit.services import audit_record
from apps.core.errors import InvalidInput, ServiceUnavailableError

logger = structlog.get_logger(__name__)

ALGORITHM = "EdDSA"
ES256 = "ES256"

# A token naming an unknown kid re-reads the ring at most this often (per process), so a flood
# of made-up kids costs one query a second, not one per request.
_RELOAD_MIN_INTERVAL = 1.0


def _fernet() -> Fernet:
    master = str(getattr(settings, "KEYRING_ENCRYPTION_KEY", "") or "")
    if not master:
        raise ImproperlyConfigured("KEYRING_ENCRYPTION_KEY is not set")
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"guichet/keyring/v1"
    ).derive(master.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def max_token_lifetime() -> timedelta:
    """The longest any token signed now can stay valid: how long a demoted key verifies."""
    jwt_settings = settings.SIMPLE_JWT
    return max(
        jwt_settings["ACCESS_TOKEN_LIFETIME"],
        jwt_settings["REFRESH_TOKEN_LIFETIME"],
        settings.PARTNER_TOKEN_LIFETIME,
    ) + timedelta(seconds=float(jwt_settings.get("LEEWAY") or 0))


def certificate_key_lifetime() -> timedelta:
    """How long a demoted certificate (or CA) key verifies: as long as documents are kept."""
    return timedelta(days=int(getattr(settings, "CERTIFICATE_KEY_VERIFY_DAYS", 36500)))


def webhook_key_lifetime() -> timedelta:
    """How long a demoted webhook key is published: deliveries are checked on arrival."""
    return timedelta(seconds=int(getattr(settings, "WEBHOOK_KEY_VERIFY_SECONDS", 86400)))


@dataclass(frozen=True)
class KindPolicy:
    """What the ring does for one kind of key (one entry of ``KEY_KINDS``).

    ``verify_window``: how long a demoted key still verifies. ``per_scope``: one ring per
    agency schema (``scopes`` names the function listing them, for a rotation of every
    agency). ``on_new_key``: dotted path of ``hook(row)`` run on a new key before it is saved
    (the certificates kind asks the platform CA for its X.509 certificate there).
    ``always_auto_create``: the first key is made on first use even in production (keys that
    need no operator decision: a new agency's certificate key, the platform CA).
    """

    kind: str
    algorithm: str
    verify_window: Callable[[], timedelta]
    per_scope: bool = False
    scopes: str = ""
    on_new_key: str = ""
    always_auto_create: bool = False


KEY_KINDS: dict[str, KindPolicy] = {
    "jwt": KindPolicy("jwt", ALGORITHM, lambda: max_token_lifetime()),
    "certificates": KindPolicy(
        "certificates",
        ES256,
        certificate_key_lifetime,
        per_scope=True,
        scopes="apps.certificates.pki.certificate_key_scopes",
        on_new_key="apps.certificates.pki.agency_key_certify",
        always_auto_create=True,
    ),
    "ca": KindPolicy(
        "ca",
        ES256,
        certificate_key_lifetime,
        on_new_key="apps.certificates.pki.root_self_sign",
        always_auto_create=True,
    ),
    "webhooks": KindPolicy("webhooks", ALGORITHM, webhook_key_lifetime, always_auto_create=True),
    # The audit log's tree heads (apps.audit.sealing): every head stays verifiable, so a
    # demoted key verifies as long as certificate keys do.
    "audit": KindPolicy("audit", ALGORITHM, certificate_key_lifetime),
}


def register_kind(policy: KindPolicy) -> None:
    """Add (or replace) the policy of a kind: the one step another app needs for a new kind."""
    KEY_KINDS[policy.kind] = policy


def kind_policy(kind: str) -> KindPolicy:
    """The policy of ``kind`` (400 ``key_kind_unknown`` for a kind the ring does not know)."""
    policy = KEY_KINDS.get(str(kind))
    if policy is None:
        raise InvalidInput(_("No such kind of signing key."), code="key_kind_unknown")
    return policy


def _hook(path: str) -> Callable[..., Any]:
    module, _sep, name = path.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def kind_scopes(kind: str) -> list[str]:
    """The scopes a rotation of ``kind`` covers when none is named ([""] if not per scope)."""
    policy = kind_policy(kind)
    if not policy.per_scope:
        return [""]
    scopes: list[str] = list(_hook(policy.scopes)())
    return scopes


def _ring_name(kind: str, scope: str) -> str:
    return f"{kind}:{scope}" if scope else str(kind)


@dataclass(frozen=True)
class LoadedKey:
    """A key of the ring as a process uses it."""

    kid: str
    algorithm: str
    status: str
    public_key: Any  # PublicKey: Ed25519 or ECDSA P-256
    verify_until: datetime | None
    private_key: Any = field(default=None, repr=False)  # PrivateKey, for the active key only
    scope: str = ""
    certificate_pem: str = ""

    def verifies_at(self, moment: datetime) -> bool:
        """Active keys verify; demoted ones until ``verify_until``; retired ones never."""
        if self.status == KeyStatus.ACTIVE:
            return True
        if self.status == KeyStatus.VERIFYING and self.verify_until is not None:
            return moment < self.verify_until
        return False


@dataclass
class _Ring:
    active: LoadedKey | None
    by_kid: dict[str, LoadedKey]
    loaded_at: float


_lock = threading.Lock()
_rings: dict[str, _Ring] = {}
# Rings whose first key this process made inside a transaction not committed yet: read, never
# cached, until the commit (a rollback must not leave the process signing with a key that
# does not exist). A first key is made inside the caller's transaction (a certificate job).
_uncommitted: set[str] = set()


def _forget_rings() -> None:
    with _lock:
        _rings.clear()


def keyring_cache_clear() -> None:
    """Forget the ring this process holds (the next use reads it again), and the marks of
    first keys made in transactions not committed yet: a mark whose transaction rolled back
    has no commit to remove it, and would keep the ring out of this process's cache for good
    (one more query on every request: the test suite's query budgets caught it)."""
    with _lock:
        _rings.clear()
        _uncommitted.clear()


def _load(row: SigningKey, *, with_private: bool) -> LoadedKey:
    public = serialization.load_pem_public_key(row.public_key.encode())
    if not isinstance(public, Ed25519PublicKey | ec.EllipticCurvePublicKey):  # pragma: no cover
        raise ImproperlyConfigured(f"signing key {row.kid} is neither Ed25519 nor ECDSA")
    private: Any = None
    if with_private:
        try:
            raw = _fernet().decrypt(row.private_key_encrypted.encode())
        except InvalidToken as exc:
            # The wrong KEYRING_ENCRYPTION_KEY: nothing can be signed, say so loudly.
            logger.error("keyring_decrypt_failed", kid=row.kid)
            raise ImproperlyConfigured(
                "KEYRING_ENCRYPTION_KEY does not decrypt the active signing key"
            ) from exc
        if row.algorithm == ALGORITHM:
            private = Ed25519PrivateKey.from_private_bytes(raw)
        else:
            private = serialization.load_der_private_key(raw, password=None)
    return LoadedKey(
        kid=row.kid,
        algorithm=row.algorithm,
        status=row.status,
        public_key=public,
        verify_until=row.verify_until,
        private_key=private,
        scope=row.scope,
        certificate_pem=row.certificate_pem,
    )


def _read_ring(kind: str, scope: str = "") -> _Ring:
    rows = SigningKey.objects.filter(kind=kind, scope=scope).exclude(status=KeyStatus.RETIRED)
    by_kid: dict[str, LoadedKey] = {}
    active = None
    for row in rows:
        loaded = _load(row, with_private=row.status == KeyStatus.ACTIVE)
        by_kid[row.kid] = loaded
        if row.status == KeyStatus.ACTIVE:
            active = loaded
    return _Ring(active=active, by_kid=by_kid, loaded_at=time.monotonic())


def _ring(kind: str, *, scope: str = "", reload: bool = False) -> _Ring:
    ttl = float(getattr(settings, "KEYRING_CACHE_SECONDS", 30))
    name = _ring_name(kind, scope)
    with _lock:
        ring = _rings.get(name)
    now = time.monotonic()
    stale = ring is None or now - ring.loaded_at >= ttl
    uncommitted = name in _uncommitted
    if (
        stale
        or uncommitted
        or (reload and ring is not None and now - ring.loaded_at >= _RELOAD_MIN_INTERVAL)
    ):
        ring = _read_ring(kind, scope)
        if not uncommitted:
            with _lock:
                _rings[name] = ring
    assert ring is not None
    return ring


def _new_row(kind: str, now: datetime, scope: str = "") -> tuple[SigningKey, str]:
    policy = kind_policy(kind)
    private: Any
    if policy.algorithm == ALGORITHM:
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        raw = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = f"{kind}-{now:%Y%m%d}-{secrets.token_hex(4)}"
    agency_id = None
    if scope:
        from apps.agencies.models import Agency

        agency_id = Agency.objects.filter(schema_name=scope).values_list("pk", flat=True).first()
    row = SigningKey(
        kind=kind,
        kid=kid,
        scope=scope,
        agency_id=agency_id,
        algorithm=policy.algorithm,
        public_key=public_pem.decode(),
        private_key_encrypted=_fernet().encrypt(raw).decode("ascii"),
        status=KeyStatus.ACTIVE,
        created_at=now,
        activated_at=now,
    )
    if policy.on_new_key:
        _hook(policy.on_new_key)(row, private)
    return row, kid


def keyring_signing_key(kind: str = KeyKind.JWT, *, scope: str = "") -> LoadedKey:
    """The active key of ``kind`` (in ``scope``, the agency schema, for per-agency kinds).

    With none, development and tests (``KEYRING_AUTO_CREATE``), and kinds whose policy says
    so (a new agency's certificate key, the platform CA), make the first one; otherwise
    production refuses to sign (503 ``signing_key_missing``) until an operator runs
    ``manage.py keys_rotate --kind <kind>``.
    """
    policy = kind_policy(kind)
    ring = _ring(kind, scope=scope)
    if ring.active is None:
        ring = _ring(kind, scope=scope, reload=True)
    if ring.active is not None:
        return ring.active
    if not (policy.always_auto_create or getattr(settings, "KEYRING_AUTO_CREATE", False)):
        logger.error("keyring_no_active_key", kind=kind)
        raise ServiceUnavailableError(
            _("Sign-in is unavailable: no signing key is configured."),
            code="signing_key_missing",
        )
    name = _ring_name(kind, scope)
    try:
        with transaction.atomic():
            row, _kid = _new_row(kind, timezone.now(), scope)
            row.save()
        if transaction.get_connection().in_atomic_block:
            with _lock:
                _uncommitted.add(name)
            transaction.on_commit(lambda: _uncommitted.discard(name))
    except IntegrityError:  # another process made it first: use theirs
        pass
    _forget_rings()  # not the marks: the one just made stays uncached until its commit
    ring = _ring(kind, scope=scope)
    assert ring.active is not None
    logger.info("keyring_first_key_created", kind=kind, kid=ring.active.kid)
    return ring.active


def keyring_verifying_key(
    kid: str, kind: str = KeyKind.JWT, *, scope: str = ""
) -> LoadedKey | None:
    """The key named ``kid`` if it may verify a token now, else None."""
    ring = _ring(kind, scope=scope)
    key = ring.by_kid.get(kid)
    if key is None:
        key = _ring(kind, scope=scope, reload=True).by_kid.get(kid)
    if key is None or not key.verifies_at(timezone.now()):
        return None
    return key


def keyring_history(kind: str, *, scope: str = "") -> list[SigningKey]:
    """Every key of ``kind`` in ``scope``, oldest first: the published history."""
    return list(SigningKey.objects.filter(kind=kind, scope=scope).order_by("created_at", "kid"))


def key_as_jwk(key: LoadedKey) -> dict[str, Any]:
    """The public half of a key as a JSON Web Key (RFC 8037 for Ed25519)."""
    if isinstance(key.public_key, Ed25519PublicKey):
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key, as_dict=True)
    else:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key, as_dict=True)
    return {**jwk, "kid": key.kid, "alg": key.algorithm, "use": "sig"}


def keyring_jwks(kind: str = KeyKind.JWT) -> dict[str, Any]:
    """The JWKS of every key that verifies tokens now: the active key and demoted ones."""
    now = timezone.now()
    rows = SigningKey.objects.filter(kind=kind, scope="").exclude(status=KeyStatus.RETIRED)
    keys = [_load(row, with_private=False) for row in rows]
    return {"keys": [key_as_jwk(key) for key in keys if key.verifies_at(now)]}


@dataclass(frozen=True)
class RotationResult:
    """What a rotation changed."""

    new_kid: str
    demoted_kid: str | None
    verify_until: datetime | None
    retired: list[str]


def _retire_expired(kind: str, now: datetime, scope: str | None = None) -> list[str]:
    rows = SigningKey.objects.select_for_update().filter(
        kind=kind, status=KeyStatus.VERIFYING, verify_until__lte=now
    )
    if scope is not None:
        rows = rows.filter(scope=scope)
    expired = list(rows.values_list("kid", flat=True))
    if expired:
        SigningKey.objects.filter(kid__in=expired).update(status=KeyStatus.RETIRED, retired_at=now)
    return expired


@transaction.atomic
def keyring_rotate(*, kind: str = KeyKind.JWT, scope: str = "") -> RotationResult:
    """Make a new key active; the previous active key verifies until its tokens have expired.

    Keys whose verification window has passed are retired in the same transaction. Audited
    (``keys.rotated`` in the platform trail). ``scope``: the agency schema of a per-agency
    kind (``certificates``).
    """
    policy = kind_policy(kind)
    now = timezone.now()
    retired = _retire_expired(kind, now, scope)
    previous = (
        SigningKey.objects.select_for_update()
        .filter(kind=kind, scope=scope, status=KeyStatus.ACTIVE)
        .first()
    )
    verify_until = None
    if previous is not None:
        verify_until = now + policy.verify_window()
        previous.status = KeyStatus.VERIFYING
        previous.verify_until = verify_until
        previous.save(update_fields=["status", "verify_until"])
    row, kid = _new_row(kind, now, scope)
    row.save()
    audit_record(
        action="keys.rotated",
        target_type="signing_key",
        target_id=kid,
        changes={
            "active": {"old": previous.kid if previous else None, "new": kid},
            "retired": {"old": None, "new": retired},
            "kind": {"old": None, "new": kind},
            "scope": {"old": None, "new": scope},
        },
        platform=True,
    )
    logger.info("keyring_rotated", kind=kind, kid=kid, demoted=previous.kid if previous else None)
    transaction.on_commit(keyring_cache_clear)
    keyring_cache_clear()
    return RotationResult(
        new_kid=kid,
        demoted_kid=previous.kid if previous else None,
        verify_until=verify_until,
        retired=retired,
    )


@transaction.atomic
def keyring_retire_expired(*, kind: str = KeyKind.JWT) -> list[str]:
    """Mark ``retired`` the demoted keys whose tokens have all expired. Audited when any."""
    retired = _retire_expired(kind, timezone.now())
    if retired:
        audit_record(
            action="keys.retired",
            target_type="signing_key",
            target_id=",".join(retired),
            changes={"retired": {"old": None, "new": retired}},
            platform=True,
        )
        logger.info("keyring_retired", kind=kind, kids=retired)
    keyring_cache_clear()
    return retired


@transaction.atomic
def keyring_revoke(*, kid: str) -> RotationResult | None:
    """Retire a key at once (it is compromised): every token it signed stops verifying.

    If it is the active key a new one is made active first, so there is always a key to sign
    with; the tokens of the revoked key are lost (their holders sign in again). Returns the
    rotation when one was needed. 400 ``key_unknown`` for a kid the ring never had, 409
    ``key_already_retired`` for a retired one. Audited (``keys.revoked``).
    """
    row = SigningKey.objects.select_for_update().filter(kid=kid).first()
    if row is None:
        raise InvalidInput(_("No signing key has this id."), code="key_unknown")
    if row.status == KeyStatus.RETIRED:
        raise InvalidInput(_("This signing key is already retired."), code="key_already_retired")
    old_status = row.status
    rotation = (
        keyring_rotate(kind=row.kind, scope=row.scope) if row.status == KeyStatus.ACTIVE else None
    )
    row.refresh_from_db()
    row.status = KeyStatus.RETIRED
    row.retired_at = timezone.now()
    row.save(update_fields=["status", "retired_at"])
    audit_record(
        action="keys.revoked",
        target_type="signing_key",
        target_id=kid,
        changes={"status": {"old": old_status, "new": KeyStatus.RETIRED.value}},
        platform=True,
    )
    logger.warning("keyring_revoked", kind=row.kind, kid=kid)
    transaction.on_commit(keyring_cache_clear)
    keyring_cache_clear()
    return rotation
