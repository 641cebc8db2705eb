"""Production settings pass Django's deployment checks."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_secrets() -> dict[str, str]:
    """Proper production values: random, one per purpose (the way the README says to make
    them)."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "KEYRING_ENCRYPTION_KEY": secrets.token_urlsafe(50),
        "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CERTIFICATE_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "WEBHOOK_SECRET_KEY": secrets.token_urlsafe(50),
        "OTP_SECRET_KEY": secrets.token_hex(32),
    }


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        **production_secrets(),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_ALLOWED_HOSTS": "guichet.example,.guichet.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secrets():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SECRET_KEY", "KEYRING_ENCRYPTION_KEY", "DJANGO_ALLOWED_HOSTS")
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
