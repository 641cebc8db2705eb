"""Test settings: fast hashing, quiet logs, the real PostgreSQL and broker from the environment."""

import base64
import hashlib

from config.settings.base import *  # noqa: F403
from config.settings.base import LOGGING, env

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = env.str("LOG_LEVEL", default="WARNING")
WHITENOISE_AUTOREFRESH = True
# A fixed, public test key for the audit checkpoints (tests verify real signatures).
AUDIT_SIGNING_KEY = base64.b64encode(hashlib.sha256(b"guichet-test-audit-key").digest()).decode()

# Argon2 still, with its cost lowered so the suite stays fast.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
ALLOWED_HOSTS = [".localhost", "localhost", "127.0.0.1", "testserver"]
# Tests never consume a development worker's queue, nor it theirs.
CELERY_TASK_DEFAULT_QUEUE = "guichet-test"
if CELERY_BROKER_URL.startswith("filesystem"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "test-celery" / "queue"),  # noqa: F405
        "data_folder_out": str(VAR_DIR / "test-celery" / "queue"),  # noqa: F405
        "processed_folder": str(VAR_DIR / "test-celery" / "processed"),  # noqa: F405
        "control_folder": str(VAR_DIR / "test-celery" / "control"),  # noqa: F405
        "store_processed": False,
    }
HOTKEYS = {
    "default": {
        "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
        "OPTIONS": {"path": str(VAR_DIR / "test-hotkeys"), "map_size": 256 * 1024**2},  # noqa: F405
    }
}
# Fixed, public test secrets (tests verify real signatures); loopback webhook receivers.
WEBHOOK_SECRET_KEY = "guichet-test-webhook-key"  # noqa: S105 - public test key
CERTIFICATE_SIGNING_KEY = "guichet-test-certificate-key"
WEBHOOK_ALLOW_INSECURE_URLS = True
KEYRING_ENCRYPTION_KEY = "guichet-test-keyring-key"
KEYRING_AUTO_CREATE = True
# Existing tests read an event's place at once; tests of the deferred sealer turn it off.
AUDIT_SEAL_INLINE = True
GUICHET_AGENCY_URL = "http://{domain}"
# Short timeouts and backoff so fault tests take seconds, not minutes.
WEBHOOK_CONNECT_TIMEOUT = 1.0
WEBHOOK_READ_TIMEOUT = 0.5
SMS_GATEWAY_CONNECT_TIMEOUT = 1.0
SMS_GATEWAY_READ_TIMEOUT = 0.5
OUTBOX_RETRY_BASE_SECONDS = 0.05
OUTBOX_RETRY_MAX_SECONDS = 0.5
SMS_FILE_DIR = VAR_DIR / "test-sms"  # noqa: F405
# The poll of database-made deactivations adds one query every few seconds per process, which
# would land at random inside the query budgets; tests/accounts/test_deactivation.py turns it on.
AUTH_REVOCATION_POLL_SECONDS = 0
# The SSE stream under the WSGI test client ends quickly (the contract tests call it).
REALTIME_SSE_WSGI_SECONDS = env.float("REALTIME_SSE_WSGI_SECONDS", default=0.3)
REALTIME_POLL_SECONDS = env.float("REALTIME_POLL_SECONDS", default=0.05)
# The consumers' database calls come back to the test's thread (its transaction).
REALTIME_SYNC_THREAD_SENSITIVE = env.bool("REALTIME_SYNC_THREAD_SENSITIVE", default=True)
# Password-reset requests are padded to this floor (the timing test raises it).
PASSWORD_RESET_MIN_SECONDS = 0.02
# Payments against the aggregator simulator the tests start (tests/payments/conftest.py).
PAYMENTS_AGGREGATOR_TOKEN = "guichet-test-aggregator-token"  # noqa: S105 - public test value
PAYMENTS_CALLBACK_SECRET = "guichet-test-callback-secret"  # noqa: S105 - public test value
PAYMENTS_CONNECT_TIMEOUT_SECONDS = 0.5
PAYMENTS_READ_TIMEOUT_SECONDS = 0.5
# Callbacks settle in the request, so tests see the outcome at once (one test runs the worker
# mode, tests/payments/test_flow.py).
PAYMENTS_CALLBACK_SETTLE = "inline"
