"""Production refuses development secrets, weak keys and a key used for two purposes."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.settings.key_checks import secret_weakness, secrets_check
from tests.core.test_deploy import ROOT, production_secrets

PROOF = "sentinel-value-that-must-never-be-printed"


def _start(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **production_secrets(),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_ALLOWED_HOSTS": "guichet.example",
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_development_keyring_key_refuses_to_start_naming_the_variable():
    result = _start(KEYRING_ENCRYPTION_KEY="guichet-dev-only-keyring-key")

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: KEYRING_ENCRYPTION_KEY is a development or test value"
        in result.stderr
    )
    assert "guichet-dev-only-keyring" not in result.stderr + result.stdout


def test_one_key_for_two_purposes_refuses_to_start_without_printing_it():
    shared = secrets.token_urlsafe(50)
    result = _start(WEBHOOK_SECRET_KEY=shared, OTP_SECRET_KEY=shared)

    assert result.returncode != 0
    assert "OTP_SECRET_KEY has the same value as WEBHOOK_SECRET_KEY" in result.stderr
    assert shared not in result.stderr + result.stdout


def test_a_weak_key_refuses_to_start_without_printing_it():
    weak = PROOF + "-" + "a" * 10
    result = _start(DJANGO_SECRET_KEY=weak)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY repeats one character" in result.stderr
    assert PROOF not in result.stderr + result.stdout


def test_production_requires_its_own_otp_key():
    env = {k: v for k, v in os.environ.items() if k != "OTP_SECRET_KEY"}
    values = {k: v for k, v in production_secrets().items() if k != "OTP_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **env,
            **values,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_ALLOWED_HOSTS": "guichet.example",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "OTP_SECRET_KEY" in result.stderr


def _dev_values() -> dict[str, str]:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SECRET_KEY, s.KEYRING_ENCRYPTION_KEY, s.AUDIT_SIGNING_KEY, "
        "s.WEBHOOK_SECRET_KEY, s.CERTIFICATE_SIGNING_KEY]))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_KEY", "SECRET_KEY")) and k != "DJANGO_SETTINGS_MODULE"
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    names = ["DJANGO_SECRET_KEY", "KEYRING_ENCRYPTION_KEY", "AUDIT_SIGNING_KEY"]
    names += ["WEBHOOK_SECRET_KEY", "CERTIFICATE_SIGNING_KEY"]
    return dict(zip(names, json.loads(result.stdout.strip().splitlines()[-1]), strict=True))


def test_every_development_and_test_value_in_the_repository_is_refused():
    test_values = {
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "KEYRING_ENCRYPTION_KEY": settings.KEYRING_ENCRYPTION_KEY,
        "AUDIT_SIGNING_KEY": settings.AUDIT_SIGNING_KEY,
        "WEBHOOK_SECRET_KEY": settings.WEBHOOK_SECRET_KEY,
        "CERTIFICATE_SIGNING_KEY": settings.CERTIFICATE_SIGNING_KEY,
    }
    for values in (test_values, _dev_values()):
        for name, value in values.items():
            assert secret_weakness(value), name


def _pem(raw: bytes) -> str:
    key = Ed25519PrivateKey.from_private_bytes(raw)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("short-but-random-Xk2", "shorter than 32"),
        ("y" * 64, "repeats one character"),
        ("abcd1234" * 8, "repeats a pattern"),
        (secrets.token_hex(16), "128 bits"),
        ("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "not random"),
        (_pem(b"\x01" * 32), "not random"),
        ("my-Own-dev-only-key-" + secrets.token_urlsafe(30), "development or test"),
        ("build-only-not-a-secret", "development or test"),
    ],
)
def test_weak_and_known_values_are_refused(value, reason):
    weakness = secret_weakness(value)

    assert weakness is not None
    assert reason in weakness


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_urlsafe(50),
        lambda: secrets.token_urlsafe(32),
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(os.urandom(32)).decode(),
        lambda: _pem(os.urandom(32)),
    ],
)
def test_properly_generated_values_are_accepted(make):
    for _ in range(200):
        assert secret_weakness(make()) is None


def test_reuse_names_both_variables():
    shared = secrets.token_urlsafe(50)

    with pytest.raises(ImproperlyConfigured) as refused:
        secrets_check({"KEYRING_ENCRYPTION_KEY": shared, "DJANGO_SECRET_KEY": " " + shared})

    assert "DJANGO_SECRET_KEY has the same value as KEYRING_ENCRYPTION_KEY" in str(refused.value)
    assert shared not in str(refused.value)
