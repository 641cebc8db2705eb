"""The key ring: Ed25519 tokens with a kid, JWKS, rotation without signing anyone out,
retirement, revocation, keys encrypted at rest, production refusing to sign without a key."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from apps.accounts import keyring
from apps.accounts.keyring import (
    keyring_cache_clear,
    keyring_rotate,
    keyring_signing_key,
    max_token_lifetime,
)
from apps.accounts.models import KeyStatus, SigningKey
from apps.accounts.tasks import keys_retire_expired
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
JWKS = "/.well-known/jwks.json"


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def _sign_in(api, user) -> dict:
    response = api(PUBLIC_HOST).post(TOKEN, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def _rotate(*args: str) -> str:
    out = StringIO()
    call_command("keys_rotate", "--kind", "jwt", *args, stdout=out)
    return out.getvalue()


def test_tokens_are_eddsa_with_the_active_kid(api, citizen):
    body = _sign_in(api, citizen)

    active = SigningKey.objects.get(kind="jwt", status=KeyStatus.ACTIVE)
    for token in (body["access"], body["refresh"]):
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "EdDSA"
        assert header["kid"] == active.kid


def test_a_token_issued_before_a_rotation_still_works_after_it(api, citizen):
    before = _sign_in(api, citizen)
    old_kid = _kid(before["access"])

    output = _rotate()

    new_kid = SigningKey.objects.get(kind="jwt", status=KeyStatus.ACTIVE).kid
    assert new_kid != old_kid
    assert f"new active key: {new_kid}" in output
    demoted = SigningKey.objects.get(kid=old_kid)
    assert demoted.status == KeyStatus.VERIFYING
    assert demoted.verify_until is not None
    # It verifies as long as the longest token it may have signed.
    expected = timezone.now() + max_token_lifetime()
    assert abs((demoted.verify_until - expected).total_seconds()) < 60
    assert api(HOST_A, before["access"]).get("/api/v1/me/").status_code == 200
    # The old refresh token rotates too, and the new pair is signed with the new key.
    refreshed = api(PUBLIC_HOST).post(REFRESH, {"refresh": before["refresh"]})
    assert refreshed.status_code == 200, refreshed.content
    assert _kid(refreshed.json()["access"]) == new_kid
    assert _kid(refreshed.json()["refresh"]) == new_kid
    old_claims = jwt.decode(before["refresh"], options={"verify_signature": False})
    new_claims = jwt.decode(refreshed.json()["refresh"], options={"verify_signature": False})
    assert new_claims["fam"] == old_claims["fam"]
    assert AuditEvent.objects.filter(
        action="keys.rotated", target_id=new_kid, agency_schema="public"
    ).exists()


def test_after_its_window_a_demoted_key_verifies_nothing_and_is_retired(api, citizen):
    before = _sign_in(api, citizen)
    old_kid = _kid(before["access"])
    _rotate()
    assert api(HOST_A, before["access"]).get("/api/v1/me/").status_code == 200

    # The window ends (every token the key signed has expired by then).
    SigningKey.objects.filter(kid=old_kid).update(
        verify_until=timezone.now() - dt.timedelta(seconds=1)
    )
    keyring_cache_clear()
    refused = api(HOST_A, before["access"]).get("/api/v1/me/")
    assert_problem(refused, 401, "token_invalid")
    assert api(PUBLIC_HOST).post(REFRESH, {"refresh": before["refresh"]}).status_code == 401

    assert f"retired: {old_kid}" in _rotate("--retire-expired")
    retired = SigningKey.objects.get(kid=old_kid)
    assert retired.status == KeyStatus.RETIRED
    assert retired.retired_at is not None
    assert old_kid not in {key["kid"] for key in api(PUBLIC_HOST).get(JWKS).json()["keys"]}
    assert _rotate("--retire-expired").strip() == "retired: none"


def test_a_token_with_an_unknown_kid_is_refused(api, citizen):
    now = dt.datetime.now(dt.UTC)
    claims = {
        "token_type": "access",
        "exp": now + dt.timedelta(minutes=5),
        "iat": now,
        "jti": "x",
        "sub": str(citizen.id),
        "kind": "citizen",
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
    }
    forged = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "jwt-unknown"}
    )

    assert_problem(api(HOST_A, forged).get("/api/v1/me/"), 401, "token_invalid")


def test_a_key_made_active_by_another_process_verifies_at_once(api, citizen):
    """A process holding the ring in memory re-reads it when a token names a kid it lacks."""
    keyring_signing_key()
    stale = dict(keyring._rings)  # this process's view before another process rotates
    keyring_rotate()
    fresh = keyring_signing_key()
    token = _sign_in(api, citizen)["access"]
    assert _kid(token) == fresh.kid
    with keyring._lock:
        keyring._rings.clear()
        keyring._rings.update(stale)
        for ring in keyring._rings.values():
            ring.loaded_at -= 5  # older than the re-read interval, fresher than the cache TTL

    assert api(HOST_A, token).get("/api/v1/me/").status_code == 200
    assert keyring._rings["jwt"].active.kid == fresh.kid


def test_revoking_a_compromised_active_key_ends_its_tokens_and_signs_with_a_new_one(api, citizen):
    before = _sign_in(api, citizen)
    old_kid = _kid(before["access"])

    output = _rotate("--revoke", old_kid)

    assert f"revoked: {old_kid}" in output
    assert SigningKey.objects.get(kid=old_kid).status == KeyStatus.RETIRED
    assert_problem(api(HOST_A, before["access"]).get("/api/v1/me/"), 401, "token_invalid")
    after = _sign_in(api, citizen)
    assert _kid(after["access"]) not in (old_kid, None)
    assert api(HOST_A, after["access"]).get("/api/v1/me/").status_code == 200
    assert AuditEvent.objects.filter(action="keys.revoked", target_id=old_kid).exists()


def test_revoking_a_demoted_key_keeps_the_active_one(api, citizen):
    old_kid = keyring_signing_key().kid
    rotation = keyring_rotate()

    _rotate("--revoke", old_kid)

    assert SigningKey.objects.get(kid=old_kid).status == KeyStatus.RETIRED
    assert SigningKey.objects.get(status=KeyStatus.ACTIVE, kind="jwt").kid == rotation.new_kid


@pytest.mark.parametrize(
    ("kid", "code"), [("jwt-nothing", "key_unknown"), (None, "key_already_retired")]
)
def test_revoking_an_unknown_or_retired_key_changes_nothing(kid, code):
    if kid is None:
        kid = keyring_signing_key().kid
        _rotate("--revoke", kid)
    keys_before = list(SigningKey.objects.values_list("kid", "status").order_by("kid"))

    with pytest.raises(CommandError, match=code):
        _rotate("--revoke", kid)

    assert list(SigningKey.objects.values_list("kid", "status").order_by("kid")) == keys_before


def test_if_missing_makes_the_first_key_only(db):
    SigningKey.objects.all().delete()
    keyring_cache_clear()

    first = _rotate("--if-missing")
    again = _rotate("--if-missing")

    assert "new active key" in first
    assert "nothing to do" in again
    assert SigningKey.objects.count() == 1
    listed = _rotate("--list")
    assert SigningKey.objects.get().kid in listed
    assert "active" in listed


@pytest.mark.parametrize("host", [PUBLIC_HOST, HOST_A])
def test_jwks_publishes_the_verifying_keys_and_verifies_a_token(api, citizen, host):
    token = _sign_in(api, citizen)["access"]
    old_kid = _kid(token)
    rotation = keyring_rotate()

    response = api(host).get(JWKS)

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert {key["kid"] for key in keys} == {old_kid, rotation.new_kid}
    for key in keys:
        assert key["kty"] == "OKP"
        assert key["crv"] == "Ed25519"
        assert key["alg"] == "EdDSA"
        assert "d" not in key  # never the private half
    # A gateway verifies the token with the published key alone.
    jwk = next(key for key in keys if key["kid"] == old_kid)
    public = jwt.PyJWK.from_json(json.dumps(jwk)).key
    claims = jwt.decode(
        token,
        public,
        algorithms=["EdDSA"],
        audience=settings.SIMPLE_JWT["AUDIENCE"],
        issuer=settings.SIMPLE_JWT["ISSUER"],
    )
    assert claims["sub"] == str(citizen.id)


def test_private_keys_are_stored_encrypted_under_the_key_encryption_key(db):
    key = keyring_signing_key()
    row = SigningKey.objects.get(kid=key.kid)
    raw = key.private_key.private_bytes_raw()

    assert raw not in row.private_key_encrypted.encode()
    assert raw.hex() not in row.private_key_encrypted
    assert "PRIVATE" not in row.private_key_encrypted
    keyring_cache_clear()
    with (
        override_settings(KEYRING_ENCRYPTION_KEY="another-key-encryption-key"),
        pytest.raises(ImproperlyConfigured, match="does not decrypt"),
    ):
        keyring_signing_key()
    keyring_cache_clear()
    with override_settings(KEYRING_ENCRYPTION_KEY=""), pytest.raises(ImproperlyConfigured):
        keyring.keyring_rotate()


def test_without_a_signing_key_production_refuses_to_sign(api, citizen):
    SigningKey.objects.all().delete()
    keyring_cache_clear()

    with override_settings(KEYRING_AUTO_CREATE=False):
        response = api(PUBLIC_HOST).post(TOKEN, {"login": citizen.email, "password": PASSWORD})

    assert_problem(response, 503, "signing_key_missing")
    assert not SigningKey.objects.exists()


def test_every_token_kind_is_signed_by_the_ring(tokens, citizen, staff_of, agency_a):
    staff = tokens(staff_of(agency_a), TokenKind.STAFF, agency=agency_a, role="agent")

    assert _kid(staff.access) == keyring_signing_key().kid


def test_development_makes_the_first_key_on_first_use(api, citizen):
    SigningKey.objects.all().delete()
    keyring_cache_clear()

    body = _sign_in(api, citizen)

    assert _kid(body["access"]) == SigningKey.objects.get(status=KeyStatus.ACTIVE).kid


def test_two_processes_making_the_first_key_at_once_end_up_with_one(db):
    SigningKey.objects.all().delete()
    keyring_cache_clear()
    keyring._ring("jwt")  # this process has just read an empty ring
    theirs, kid = keyring._new_row("jwt", timezone.now())
    theirs.save()  # another process made the first key meanwhile

    mine = keyring_signing_key()  # the unique index refuses a second active key: use theirs

    assert mine.kid == kid
    assert SigningKey.objects.count() == 1


def test_the_periodic_task_retires_the_keys_past_their_window(db):
    old_kid = keyring_signing_key().kid
    keyring_rotate()
    assert keys_retire_expired() == []
    SigningKey.objects.filter(kid=old_kid).update(
        verify_until=timezone.now() - dt.timedelta(seconds=1)
    )

    assert keys_retire_expired() == [old_kid]
    assert SigningKey.objects.get(kid=old_kid).status == KeyStatus.RETIRED
    assert AuditEvent.objects.filter(action="keys.retired", target_id=old_kid).exists()
    assert "accounts-keys-retire-expired" in settings.CELERY_BEAT_SCHEDULE


def test_a_first_key_made_in_a_rolled_back_request_does_not_keep_the_ring_uncached(
    api, citizen, django_assert_num_queries
):
    """The first key made during a request whose transaction never commits (this test's) marks
    the ring "uncommitted"; once the process's cache is cleared the ring is cached again.
    Before, every request of every later test read the ring (query budgets failed in the full
    run after test_development_makes_the_first_key_on_first_use)."""
    SigningKey.objects.all().delete()
    keyring_cache_clear()
    _sign_in(api, citizen)  # makes the first key inside this test's transaction

    keyring_cache_clear()  # as the next test (or an operator) does

    assert not keyring._uncommitted
    kid = keyring_signing_key().kid  # one read, cached
    with django_assert_num_queries(0):
        assert keyring.keyring_verifying_key(kid) is not None
