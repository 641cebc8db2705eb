"""Development settings: `make run` on a laptop or this machine."""

import base64
import hashlib

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(VAR_DIR / "mail")  # noqa: F405
# A fixed, public development key for the audit checkpoints; production requires its own.
AUDIT_SIGNING_KEY = env.str(
    "AUDIT_SIGNING_KEY",
    default=base64.b64encode(hashlib.sha256(b"guichet-dev-only-audit-key").digest()).decode(),
)
# Fixed, public development secrets for webhooks and certificates; production requires its own.
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default="guichet-dev-only-webhook-key")
CERTIFICATE_SIGNING_KEY = env.str(
    "CERTIFICATE_SIGNING_KEY", default="guichet-dev-only-certificate-key"
)
# A fixed, public development key for the key ring; the first signing key is made on first use.
KEYRING_ENCRYPTION_KEY = env.str("KEYRING_ENCRYPTION_KEY", default="guichet-dev-only-keyring-key")
KEYRING_AUTO_CREATE = env.bool("KEYRING_AUTO_CREATE", default=True)
WEBHOOK_ALLOW_INSECURE_URLS = env.bool("WEBHOOK_ALLOW_INSECURE_URLS", default=True)
# The port `make run` serves on (scripts/run.py passes it to every child, workers included),
# so printed verification URLs point where the platform actually answers.
GUICHET_PORT = env.int("GUICHET_PORT", default=8000)
GUICHET_AGENCY_URL = env.str("GUICHET_AGENCY_URL", default=f"http://{{domain}}:{GUICHET_PORT}")
