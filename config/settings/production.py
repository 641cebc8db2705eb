"""Production settings: everything from the environment, transport security on.

`DJANGO_SETTINGS_MODULE=config.settings.production python manage.py check --deploy` is clean.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import database_pool, env
from config.settings.key_checks import secrets_check

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
KEYRING_ENCRYPTION_KEY = env.str("KEYRING_ENCRYPTION_KEY")  # decrypts the key ring: docs/keys.md
KEYRING_AUTO_CREATE = False  # a missing signing key is an operator's job (keys_rotate)
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY")  # Ed25519, base64 or PEM: see docs/audit.md
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY")  # encrypts webhook secrets at rest
CERTIFICATE_SIGNING_KEY = env.str("CERTIFICATE_SIGNING_KEY")  # docs/certificates.md
OTP_SECRET_KEY = env.str("OTP_SECRET_KEY")  # its own key in production, not DJANGO_SECRET_KEY's
# Development values, weak keys and one key for two purposes refuse to start (key_checks.py).
secrets_check(
    {
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "KEYRING_ENCRYPTION_KEY": KEYRING_ENCRYPTION_KEY,
        "AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY,
        "WEBHOOK_SECRET_KEY": WEBHOOK_SECRET_KEY,
        "CERTIFICATE_SIGNING_KEY": CERTIFICATE_SIGNING_KEY,
        "OTP_SECRET_KEY": OTP_SECRET_KEY,
    }
)
SMS_BACKEND = env.str("SMS_BACKEND", default="apps.notifications.sms.HTTPSMSBackend")

# Django's connection pool is on in production unless DATABASE_POOL=false (base.py explains;
# benches/README.md has the figures).
DATABASE_POOL = env.bool("DATABASE_POOL", default=True)
database_pool(DATABASES["default"], enabled=DATABASE_POOL)  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
WHITENOISE_USE_FINDERS = False

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Guichet <no-reply@guichet.example>")
