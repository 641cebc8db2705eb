"""Test settings: fast hashing, quiet logs, the real PostgreSQL and broker from the environment."""

from config.settings.base import *  # noqa: F403
from config.settings.base import LOGGING, env

PASSWORD_HASHERS = [
    # Argon2 stays first so tests exercise it; its cost is lowered in tests/conftest.py.
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = env.str("LOG_LEVEL", default="WARNING")
WHITENOISE_AUTOREFRESH = True
