"""``manage.py totp_code <login>``: the current code of a demo account's authenticator.

Demo accounts only (their device is the one ``seed_demo`` made, named ``demo``); any other
device is refused, so this never shows a code of a real person's authenticator.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.identifiers import normalize_login
from apps.accounts.mfa.demo import DEMO_DEVICE_NAME
from apps.accounts.models import User


class Command(BaseCommand):
    help = "Print the current authenticator code of a demo account (seed_demo). Demo only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("login", help="e-mail address or phone number of the demo account")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            field, value = normalize_login(options["login"])
        except Exception as exc:
            raise CommandError("not an e-mail address or a phone number") from exc
        user = User.objects.filter(**{field: value}).first()
        device = (
            TOTPDevice.objects.filter(user=user, confirmed=True, name=DEMO_DEVICE_NAME).first()
            if user is not None
            else None
        )
        if device is None:
            raise CommandError("no demo authenticator for this login (run manage.py seed_demo)")
        generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
        generator.time = time.time()
        left = device.step - int(generator.time - device.t0) % device.step
        self.stdout.write(f"{generator.token():0{device.digits}d}")
        self.stderr.write(f"valid for {left} more seconds; each code signs in once")
