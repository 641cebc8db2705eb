"""Recovery codes: a django-otp device whose single-use codes are stored hashed.

django-otp's own static device keeps its tokens in clear; here each code is stored as
HMAC-SHA256 under a key derived from ``OTP_SECRET_KEY`` (``DJANGO_SECRET_KEY`` when it is empty,
as in development), so a copy of the database alone gives no usable code; changing that key
voids every recovery code. A code is spent by one conditional UPDATE
(``used_at IS NULL``), so two simultaneous uses of one code cannot both succeed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes


def recovery_code_normalize(raw: str) -> str:
    """The code as stored before hashing: lower case, without spaces or dashes."""
    return "".join(ch for ch in raw.lower() if ch not in " -\t")


def recovery_code_hash(raw: str) -> str:
    """The keyed hash stored for a recovery code (hex)."""
    secret = settings.OTP_SECRET_KEY or settings.SECRET_KEY
    return salted_hmac(
        "guichet.mfa.recovery", recovery_code_normalize(raw), secret=secret, algorithm="sha256"
    ).hexdigest()


class RecoveryCodeDevice(Device):
    """A person's set of recovery codes (one device per person, public schema)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="recovery_code_devices",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("recovery codes")
        verbose_name_plural = _("recovery codes")
        constraints = [
            models.UniqueConstraint(fields=["user"], name="mfa_recoverycodedevice_one_per_user")
        ]

    def verify_token(self, token: str) -> bool:
        """Spend ``token`` if it is one of this device's unused codes (single use)."""
        if not isinstance(token, str) or not recovery_code_normalize(token):
            return False
        spent = RecoveryCode.objects.filter(
            device=self, code_hash=recovery_code_hash(token), used_at__isnull=True
        ).update(used_at=timezone.now())
        return spent == 1

    def codes_left(self) -> int:
        """How many codes are still unused."""
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    """One recovery code, stored as a keyed hash; ``used_at`` is set when it is spent."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(_("code hash"), max_length=64)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [
            models.UniqueConstraint(
                fields=["device", "code_hash"], name="mfa_recoverycode_unique_per_device"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {'used' if self.used_at else 'unused'}"


class PasskeyDevice(Device):
    """A passkey (WebAuthn public-key credential) of a person, for the console.

    Added from "My second factor" by a person whose session already passed the second factor;
    it can then replace the authenticator code at sign-in. Only the public key is stored;
    ``sign_count`` follows the authenticator's counter (a counter going back means a cloned
    key, and the sign-in is refused).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="passkey_devices",
        verbose_name=_("user"),
    )
    rp_id = models.CharField(_("host"), max_length=253)  # the console host it works on
    credential_id = models.CharField(_("credential id"), max_length=1024, unique=True)
    public_key = models.BinaryField(_("public key"))
    sign_count = models.BigIntegerField(_("signature counter"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")

    def verify_token(self, token: str) -> bool:
        """Passkeys answer a challenge (``apps.accounts.mfa.passkeys``), never a typed code."""
        return False
