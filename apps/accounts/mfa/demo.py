"""Demo accounts' second factor: one known TOTP secret, so the demo stays usable.

Demo data only (``manage.py seed_demo``): every demo staff member and the demo platform
administrator get an authenticator device named ``DEMO_DEVICE_NAME`` with the secret below,
which anyone can add to an authenticator app or turn into a code with
``manage.py totp_code <login>``. That command refuses devices with any other name, so it never
prints a code of a real person's authenticator.
"""

from __future__ import annotations

import hashlib
from base64 import b32encode
from collections.abc import Iterable

from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import User
from apps.audit.services import audit_record

DEMO_DEVICE_NAME = "demo"
# 20 bytes, hex as django-otp stores it; public on purpose (demo accounts only).
DEMO_TOTP_KEY = hashlib.sha1(b"guichet-demo-totp-2026", usedforsecurity=False).hexdigest()


def demo_totp_secret() -> str:
    """The demo secret in the base32 form authenticator apps take."""
    return b32encode(bytes.fromhex(DEMO_TOTP_KEY)).decode()


def seed_demo_second_factor(users: Iterable[User]) -> int:
    """Give each of ``users`` without an authenticator the demo one (idempotent, audited).
    Returns how many were created. Call it in a transaction."""
    created = 0
    for user in users:
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            continue
        TOTPDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.create(
            user=user, name=DEMO_DEVICE_NAME, key=DEMO_TOTP_KEY, confirmed=True
        )
        audit_record(
            action="mfa.enrolled",
            target_type="user",
            target_id=user.pk,
            changes={"method": {"old": None, "new": "totp (demo secret)"}},
            platform=True,
        )
        created += 1
    return created
