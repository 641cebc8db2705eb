"""Settings shared by every environment.

Every value that differs between machines comes from an environment variable (django-environ);
README.md lists each one with its default. Per-environment modules (dev, test, production)
only change defaults and harden what must be hardened.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from apps.core.logging import build_logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("GUICHET_VAR_DIR", default=str(BASE_DIR / "var")))


def database_from_url(url: str) -> dict[str, Any]:
    """Turn a ``DATABASE_URL`` into a Django database dict on the django-tenants backend.

    A ``?host=/path`` query (as pgserver gives for its unix socket) is honoured as the host.
    """
    config: dict[str, Any] = environ.Env.db_url_config(url)
    query = parse_qs(urlsplit(url).query)
    options = dict(config.get("OPTIONS", {}))
    if "host" in query:
        config["HOST"] = query["host"][0]
        options.pop("host", None)
    config["OPTIONS"] = options
    config["ENGINE"] = "django_tenants.postgresql_backend"
    return config


# django-tenants' backend builds on this one: Django's, with psycopg's C timestamptz loader.
ORIGINAL_BACKEND = "apps.core.postgresql"

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[".localhost", "localhost", "127.0.0.1", "testserver"]
)

# --- Applications and tenancy -----------------------------------------------------------------

SHARED_APPS = [
    "django_tenants",
    "apps.core",
    "apps.agencies",
    "apps.accounts",
    "apps.audit",
    "apps.hotkeys",
    "apps.idempotency",
    "apps.directory",
    "apps.outbox",
    "apps.notifications",
    "apps.realtime",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.accounts.apps.GuichetAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "apps.accounts.mfa",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "apps.accounts.apps.GuichetAdminConfig",
    "apps.audit",
    "apps.idempotency",
    "apps.catalogue",
    "apps.applications",
    "apps.outbox",
    "apps.webhooks",
    "apps.certificates",
    "apps.payments",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "agencies.Agency"
TENANT_DOMAIN_MODEL = "agencies.Domain"
# New agencies are cloned from this migrated template schema instead of replaying migrations.
TENANT_BASE_SCHEMA = "agency_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# One `SET search_path` per schema switch instead of one per query; django-tenants re-issues it
# after every tenant change and every rollback.
TENANT_LIMIT_SET_CALLS = True
# Host -> agency lookups are cached per process this long at most (apps/agencies/hostcache.py);
# changes invalidate every process at once through the hot-key store.
TENANT_CACHE_SECONDS = env.int("TENANT_CACHE_SECONDS", default=30)
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# The public host; every agency host is "<slug>.<GUICHET_BASE_DOMAIN>".
GUICHET_BASE_DOMAIN = env.str("GUICHET_BASE_DOMAIN", default="localhost")
GUICHET_PUBLIC_HOSTS: list[str] = env.list(
    "GUICHET_PUBLIC_HOSTS", default=["localhost", "127.0.0.1", "testserver"]
)

MIDDLEWARE = [
    "apps.core.middleware.RequestContextMiddleware",
    # Every error under /api/ is a problem document, whatever answered it (DEBUG too).
    "apps.core.middleware.ProblemDocumentMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.core.csp.HTMLContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.agencies.middleware.AgencyMiddleware",
    "apps.core.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the console session passed its second factor (apps/accounts/mfa).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database ---------------------------------------------------------------------------------

# Without DATABASE_URL the embedded PostgreSQL (pgserver) under var/pg is used; `make run` and
# `make test` start it.
EMBEDDED_DATABASE_URL = f"postgresql://postgres:@/postgres?host={VAR_DIR / 'pg'}"
DATABASES = {"default": database_from_url(env.str("DATABASE_URL", default=EMBEDDED_DATABASE_URL))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def database_pool(database: dict[str, Any], *, enabled: bool) -> None:
    """Put ``database`` on Django's psycopg pool (``DATABASE_POOL``; production turns it on).

    One pool per process instead of one persistent connection per thread: a request borrows a
    connection and gives it back at its end, so ``CONN_MAX_AGE`` must be 0, and the
    per-request health check (a ``SELECT 1`` round trip) is left to the pool's own check
    (``DATABASE_POOL_CHECK``, off by default: a connection broken by a database restart then
    fails one request and is discarded; all are renewed after ``DATABASE_POOL_MAX_LIFETIME``
    seconds). django-tenants issues ``SET search_path`` again on every borrowed connection
    (tests/perf/test_pooled_connections.py).
    """
    if not enabled:
        return
    database["CONN_MAX_AGE"] = 0
    database["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_POOL_CHECK", default=False)
    database["OPTIONS"]["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=8),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        "max_lifetime": env.float("DATABASE_POOL_MAX_LIFETIME", default=1800.0),
    }


DATABASE_POOL = env.bool("DATABASE_POOL", default=False)
database_pool(DATABASES["default"], enabled=DATABASE_POOL)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity ---------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.EmailOrPhoneBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Default region for phone numbers written without a country code (Togo).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="TG")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_LIFETIME_SECONDS", default=600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_REFRESH_LIFETIME_SECONDS", default=86400)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    # Ed25519 keys of the key ring (apps/accounts/keyring.py), chosen by the token's `kid`:
    # no signing key in settings, only the key that decrypts the ring's private keys.
    "ALGORITHM": "EdDSA",
    "SIGNING_KEY": None,
    "ISSUER": env.str("JWT_ISSUER", default="guichet"),
    "AUDIENCE": env.str("JWT_AUDIENCE", default="guichet-api"),
    "LEEWAY": 0,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
}
# Key ring (apps/accounts/keyring.py, docs/keys.md): private keys are stored encrypted under
# this key; production requires it. Dev and tests create the first signing key on first use,
# production refuses to sign until `manage.py keys_rotate --kind jwt` made one.
KEYRING_ENCRYPTION_KEY = env.str("KEYRING_ENCRYPTION_KEY", default="")
KEYRING_AUTO_CREATE = env.bool("KEYRING_AUTO_CREATE", default=False)
KEYRING_CACHE_SECONDS = env.int("KEYRING_CACHE_SECONDS", default=30)
# A rotated-out refresh token presented again later than this revokes its whole family
# (apps/accounts/refresh.py); sooner, it lost a race with its own rotation and is only refused.
JWT_REFRESH_REUSE_LEEWAY_SECONDS = env.int("JWT_REFRESH_REUSE_LEEWAY_SECONDS", default=10)
# Sign-in lockout (apps/accounts/lockout.py): failures allowed per account and per source
# address within the window before further attempts are refused without a password check.
LOCKOUT_ACCOUNT_MAX_FAILURES = env.int("LOCKOUT_ACCOUNT_MAX_FAILURES", default=5)
LOCKOUT_SOURCE_MAX_FAILURES = env.int("LOCKOUT_SOURCE_MAX_FAILURES", default=20)
LOCKOUT_WINDOW_SECONDS = env.int("LOCKOUT_WINDOW_SECONDS", default=900)
# Failures on one account from all sources together per budget window (the bound N an attacker
# with any number of addresses can test per account), and how long a device token is honoured.
LOCKOUT_ACCOUNT_DAILY_FAILURES = env.int("LOCKOUT_ACCOUNT_DAILY_FAILURES", default=50)
LOCKOUT_ACCOUNT_BUDGET_SECONDS = env.int("LOCKOUT_ACCOUNT_BUDGET_SECONDS", default=86400)
LOCKOUT_DEVICE_TOKEN_MAX_AGE_SECONDS = env.int(
    "LOCKOUT_DEVICE_TOKEN_MAX_AGE_SECONDS", default=180 * 86400
)
# One-time codes verifying an email address or phone number (apps/accounts/otp.py). The codes
# are stored as HMAC-SHA256 under OTP_SECRET_KEY (empty: derived from DJANGO_SECRET_KEY).
OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", default=600)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)
OTP_SECRET_KEY = env.str("OTP_SECRET_KEY", default="")
# Second factor of staff and platform administrators (apps/accounts/mfa, docs/second-factor.md):
# wrong codes allowed per person within the window before codes are refused (429 mfa_locked),
# and how long the "password done, code pending" step of a sign-in lasts (API and console).
MFA_MAX_FAILURES = env.int("MFA_MAX_FAILURES", default=5)
MFA_WINDOW_SECONDS = env.int("MFA_WINDOW_SECONDS", default=900)
MFA_CHALLENGE_SECONDS = env.int("MFA_CHALLENGE_SECONDS", default=300)
# Passkeys (WebAuthn) of the console: the relying party's name shown by browsers; its id is the
# host of the console page (each agency host has its own passkeys).
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="Guichet")
# django-otp: the issuer shown in authenticator apps; throttling is ours (hot-key store), and
# replay is refused by the device's last time step.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Guichet")
OTP_TOTP_THROTTLE_FACTOR = 0
# Staff invitations (apps/accounts/invitations.py): how long the link works.
INVITATION_TTL_SECONDS = env.int("INVITATION_TTL_SECONDS", default=72 * 3600)
# Password reset (apps/accounts/passwords.py): a citizen's reset request lasts at least this
# long whether the login exists or not; at most this many codes per login per OTP_TTL_SECONDS;
# the staff reset link works this long (Django's setting).
PASSWORD_RESET_MIN_SECONDS = env.float("PASSWORD_RESET_MIN_SECONDS", default=0.4)
PASSWORD_RESET_MAX_SENDS = env.int("PASSWORD_RESET_MAX_SENDS", default=5)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
PARTNER_TOKEN_LIFETIME = timedelta(seconds=env.int("PARTNER_TOKEN_LIFETIME_SECONDS", default=300))
# After a partner secret is rotated the previous one keeps working this long (default: one day;
# the rotation may ask for less, or for at most PARTNER_SECRET_MAX_OVERLAP_SECONDS).
PARTNER_SECRET_OVERLAP_SECONDS = env.int("PARTNER_SECRET_OVERLAP_SECONDS", default=86400)
PARTNER_SECRET_MAX_OVERLAP_SECONDS = env.int("PARTNER_SECRET_MAX_OVERLAP_SECONDS", default=2592000)
# request.user of a person's token is built from the token and reads the accounts_user row
# only when a request needs more than the id (apps/accounts/authentication.py: TokenUser).
AUTH_STATELESS_USERS = env.bool("AUTH_STATELESS_USERS", default=True)
# How often each process reads the people deactivated directly in the database (a trigger
# records them; apps/accounts/revocations.py). 0 turns the poll off.
AUTH_REVOCATION_POLL_SECONDS = env.float("AUTH_REVOCATION_POLL_SECONDS", default=5.0)

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.accounts.authentication.AgencyBoundJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Every body is checked once by these parsers: depth, NUL and lone surrogates.
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",
        "apps.core.parsers.MultiPartParser",
    ],
    "DEFAULT_METADATA_CLASS": "apps.core.metadata.APIMetadata",
    "DEFAULT_RENDERER_CLASSES": ["apps.core.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.problem_exception_handler",
    # Counted in the hot-key store (shared by every process); see apps/core/throttling.py.
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttling.UserRateThrottle",
        "apps.core.throttling.PartnerRateThrottle",
        "apps.core.throttling.IPRateThrottle",
        "apps.core.throttling.AgencyRateThrottle",
    ],
    # "<count>/<period>" with period s, min, hour or day (optionally "15min"); empty = off.
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER_RATE", default="600/min"),
        "partner": env.str("THROTTLE_PARTNER_RATE", default="3000/min"),
        "ip": env.str("THROTTLE_IP_RATE", default="300/min"),
        "agency": env.str("THROTTLE_AGENCY_RATE", default="30000/min"),
        "auth": env.str("THROTTLE_AUTH_RATE", default="20/min"),
        "register": env.str("THROTTLE_REGISTER_RATE", default="10/hour"),
        "verify": env.str("THROTTLE_VERIFY_RATE", default="10/hour"),
        "password": env.str("THROTTLE_PASSWORD_RATE", default="10/hour"),
        "password_reset": env.str("THROTTLE_PASSWORD_RESET_RATE", default="10/hour"),
        "contact": env.str("THROTTLE_CONTACT_RATE", default="10/hour"),
    },
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Largest JSON (or form) body accepted; uploads have their own per-document limits.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MAX_UPLOAD_BYTES = env.int("API_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
# Reverse proxies whose X-Forwarded-For names the client (addresses or networks).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Retry-After of the 503/507 answered while a part is down (apps.core.outages).
OUTAGE_RETRY_AFTER_SECONDS = env.int("OUTAGE_RETRY_AFTER_SECONDS", default=5)
# Uploaded documents that would harm an agent's viewer are refused (apps/applications/
# inspection.py): images above this many pixels, PDFs whose streams inflate past the ratio
# (times the file's size) or the absolute number of bytes.
ATTACHMENT_IMAGE_MAX_PIXELS = env.int("ATTACHMENT_IMAGE_MAX_PIXELS", default=50_000_000)
ATTACHMENT_PDF_MAX_INFLATE_RATIO = env.int("ATTACHMENT_PDF_MAX_INFLATE_RATIO", default=100)
ATTACHMENT_PDF_MAX_INFLATED_BYTES = env.int(
    "ATTACHMENT_PDF_MAX_INFLATED_BYTES", default=256 * 1024 * 1024
)
# Deepest nesting of a JSON body (apps/core/parsers.py); deeper bodies are 400 json_too_deep.
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SPECTACULAR_SETTINGS = {
    "TITLE": "Guichet API",
    "DESCRIPTION": (BASE_DIR / "docs" / "api-guide.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "apps.applications.workflow.Status",
        "WebhookEventEnum": "apps.webhooks.models.Event",
        "PaymentStatusEnum": "apps.payments.models.PaymentStatus",
        "RefundStatusEnum": "apps.payments.models.RefundStatus",
        "PaymentNetworkEnum": "apps.payments.models.Network",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        }
    },
    "SECURITY": [{"bearerAuth": []}],
    # apps/core/openapi_hooks.py: problem+json errors and the statuses every operation shares.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.openapi_hooks.problem_responses_hook",
        "apps.core.openapi_links.links_hook",
    ],
    # Served docs fetch nothing from outside (offline networks): no web fonts (templates/docs/),
    # no spec validator. No REDOC_UI_SETTINGS: they would need an inline script (see csp.py).
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
}

# --- Internationalisation ---------------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Africa/Lome")
USE_I18N = True
USE_TZ = True

# --- Static and media files -------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"


def default_storage(bucket: str) -> dict[str, Any]:
    """``STORAGES["default"]``: S3 object storage when ``bucket`` is set, else ``MEDIA_ROOT``.

    Both refuse names outside the current agency's prefix (apps/core/storage.py); on local
    disks a file appears whole or not at all (written under a temporary name, then linked).
    Objects are private (no ACL granted) and never served by URL: the download views stream
    them after the permission check. Credentials left empty fall back to boto3's own chain
    (instance role).
    """
    if not bucket:
        return {"BACKEND": "apps.core.storage.AgencyFileSystemStorage"}
    return {
        "BACKEND": "apps.core.storage_s3.AgencyS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env.str("STORAGE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("STORAGE_S3_REGION", default="") or None,
            "access_key": env.str("STORAGE_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("STORAGE_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("STORAGE_S3_PREFIX", default=""),
            "addressing_style": env.str("STORAGE_S3_ADDRESSING_STYLE", default="") or None,
            "default_acl": None,  # the bucket's default: private
            "querystring_auth": True,
            "signature_version": "s3v4",  # signed URLs too (boto3 would sign them with v2)
            # stream: this process streams the object; redirect: 302 to a signed URL.
            "download_redirect": env.str("STORAGE_S3_DOWNLOADS", default="stream") == "redirect",
            "querystring_expire": env.int("STORAGE_S3_URL_SECONDS", default=60),
            # Names are UUIDs: no HEAD request to look for a free name before each upload.
            "file_overwrite": True,
            # A download is buffered in memory up to this, then in a temporary file.
            "max_memory_size": 4 * 1024 * 1024,
        },
    }


STORAGE_S3_BUCKET = env.str("STORAGE_S3_BUCKET", default="")
STORAGES = {
    "default": default_storage(STORAGE_S3_BUCKET),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

# --- Cache ------------------------------------------------------------------------------------


def cache_settings(redis_url: str) -> dict[str, Any]:
    """``CACHES["default"]``: Redis (shared by every process and machine) when ``redis_url`` is
    set, else per-process memory. Every key is prefixed with the current agency's schema.
    """
    tenant_keys = {
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
    if not redis_url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", **tenant_keys}
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="guichet"),
        # A cache that does not answer must not hold a request for long.
        "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        **tenant_keys,
    }


REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {"default": cache_settings(REDIS_URL)}

# --- Hot-key store (apps.hotkeys) ----------------------------------------------------------

# Shaped like CACHES. LMDB under var/ is the embedded default; with FDB_CLUSTER_FILE set the
# FoundationDB backend is used instead.
FDB_CLUSTER_FILE = env.str("FDB_CLUSTER_FILE", default="")
HOTKEYS: dict[str, Any] = {
    "default": (
        {
            "BACKEND": "apps.hotkeys.backends.fdb.FoundationDBStore",
            "OPTIONS": {"cluster_file": FDB_CLUSTER_FILE},
        }
        if FDB_CLUSTER_FILE
        else {
            "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
            "OPTIONS": {
                "path": env.str("HOTKEYS_LMDB_PATH", default=str(VAR_DIR / "hotkeys")),
                "map_size": env.int("HOTKEYS_LMDB_MAP_SIZE", default=1024**3),
            },
        }
    )
}

# --- Idempotency (apps.idempotency) -----------------------------------------------------------

# A completed answer is replayed to retries with the same Idempotency-Key for this long.
IDEMPOTENCY_RECORD_TTL_SECONDS = env.int("IDEMPOTENCY_RECORD_TTL_SECONDS", default=86400)
# Lifetime of the hot-key "request in flight" marker (a retry meanwhile gets 409).
IDEMPOTENCY_INFLIGHT_TTL_SECONDS = env.int("IDEMPOTENCY_INFLIGHT_TTL_SECONDS", default=60)

# --- Audit trail (apps.audit) -----------------------------------------------------------------

# Ed25519 private key signing the daily checkpoints of every audit chain: 32 bytes in base64,
# or a PKCS#8 PEM. Each schema signs with a key derived from it (docs/audit.md). Empty here:
# dev and test settings set a fixed development key, production requires it.
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="")
# Seal audit events in the writer's transaction (serialises one agency's writes; tests) instead
# of after commit (a kicked Celery task or ``manage.py audit_seal --loop``): docs/audit.md.
AUDIT_SEAL_INLINE = env.bool("AUDIT_SEAL_INLINE", default=False)
# Outside witness that co-signs the tree heads (e.g. the data-protection authority), or empty.
AUDIT_WITNESS_URL = env.str("AUDIT_WITNESS_URL", default="")
AUDIT_WITNESS_TIMEOUT_SECONDS = env.float("AUDIT_WITNESS_TIMEOUT_SECONDS", default=5.0)

# --- Real-time gateway (apps/realtime, docs/realtime.md) --------------------------------------

ASGI_APPLICATION = "config.asgi.application"
# Channel layer: channels-redis when set (production: redis://redis:6379/3), else the embedded
# layer over PostgreSQL LISTEN/NOTIFY on DATABASE_URL (no extra server).
REALTIME_CHANNEL_LAYER_URL = env.str("REALTIME_CHANNEL_LAYER_URL", default="")
if REALTIME_CHANNEL_LAYER_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REALTIME_CHANNEL_LAYER_URL], "prefix": "guichet-realtime"},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "apps.realtime.layers.PostgresNotifyChannelLayer", "CONFIG": {}}
    }
# Events are kept this long for clients that resume (then purged by realtime.purge).
REALTIME_RETENTION_HOURS = env.float("REALTIME_RETENTION_HOURS", default=24.0)
# Deliver the outbox message of an event in the process that committed it, right after the
# commit (the outbox relay is the fallback); off: only the Celery workers deliver.
REALTIME_DELIVER_ON_COMMIT = env.bool("REALTIME_DELIVER_ON_COMMIT", default=True)
# The hub reads the log at least this often even without a wake-up from the channel layer.
REALTIME_POLL_SECONDS = env.float("REALTIME_POLL_SECONDS", default=1.0)
# Tokens of open connections are checked again (revocation) this often.
REALTIME_REVALIDATE_SECONDS = env.float("REALTIME_REVALIDATE_SECONDS", default=15.0)
REALTIME_AUTH_TIMEOUT_SECONDS = env.float("REALTIME_AUTH_TIMEOUT_SECONDS", default=10.0)
REALTIME_MAX_FRAME_BYTES = env.int("REALTIME_MAX_FRAME_BYTES", default=4096)
REALTIME_MAX_CONNECTIONS_PER_USER = env.int("REALTIME_MAX_CONNECTIONS_PER_USER", default=10)
REALTIME_MAX_CONNECTIONS_PER_SOURCE = env.int("REALTIME_MAX_CONNECTIONS_PER_SOURCE", default=500)
REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION = env.int(
    "REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION", default=10
)
REALTIME_MAX_SUBSCRIPTIONS_PER_MINUTE = env.int("REALTIME_MAX_SUBSCRIPTIONS_PER_MINUTE", default=60)
# Bad frames (error frames) a connection may send before it is closed (4430).
REALTIME_MAX_ERRORS = env.int("REALTIME_MAX_ERRORS", default=10)
# A resume with more missed events than this gets resync_required instead of the backlog.
REALTIME_RESUME_MAX_EVENTS = env.int("REALTIME_RESUME_MAX_EVENTS", default=1000)
# Frames waiting for a slow client before it is closed (4431) and left to resume.
REALTIME_SEND_BUFFER = env.int("REALTIME_SEND_BUFFER", default=1000)
# An SSE response ends after this long (the client reconnects with Last-Event-ID); under WSGI
# (gunicorn) at most REALTIME_SSE_WSGI_SECONDS, as it holds a worker thread.
REALTIME_SSE_MAX_SECONDS = env.float("REALTIME_SSE_MAX_SECONDS", default=300.0)
REALTIME_SSE_WSGI_SECONDS = env.float("REALTIME_SSE_WSGI_SECONDS", default=25.0)
# The console's queue page (apps/realtime/console.py): lifetime of the staff access token it gets
# for its session, and the gateway's port when the gateway is not on the page's origin
# (``make run``: its own port; production: empty, nginx routes /ws/ on the same origin).
REALTIME_CONSOLE_TOKEN_LIFETIME = timedelta(
    seconds=env.int("REALTIME_CONSOLE_TOKEN_SECONDS", default=300)
)
REALTIME_CONSOLE_GATEWAY_PORT = env.str("REALTIME_CONSOLE_GATEWAY_PORT", default="")
# Database and hot-key calls of the gateway: in one thread (true) or the thread pool (false).
REALTIME_SYNC_THREAD_SENSITIVE = env.bool("REALTIME_SYNC_THREAD_SENSITIVE", default=False)

# --- Outbox, notifications, webhooks, certificates -------------------------------------------

# Delivery attempts of an outbox message before it becomes a dead letter (admin: re-queue).
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# Backoff before attempt n+1: base * 2**(n-1) seconds, capped, plus up to 10 % jitter.
OUTBOX_RETRY_BASE_SECONDS = env.float("OUTBOX_RETRY_BASE_SECONDS", default=30.0)
OUTBOX_RETRY_MAX_SECONDS = env.float("OUTBOX_RETRY_MAX_SECONDS", default=1800.0)
# A published message is not published again before this (unless its task message was lost).
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=200)
# Delivered messages are deleted after this many days (dead letters are kept).
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)
# SMS: the file backend writes var/sms/sms.jsonl; production uses the HTTP gateway adapter.
SMS_BACKEND = env.str("SMS_BACKEND", default="apps.notifications.sms.FileSMSBackend")
SMS_FILE_DIR = Path(env.str("SMS_FILE_DIR", default=str(VAR_DIR / "sms")))
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_SENDER_ID = env.str("SMS_SENDER_ID", default="GUICHET")
# Status query of the gateway by client reference ({reference}), asked after an interrupted
# attempt; without it such an SMS is not sent twice but marked "unknown" for an operator.
SMS_GATEWAY_STATUS_URL = env.str("SMS_GATEWAY_STATUS_URL", default="")
SMS_GATEWAY_CONNECT_TIMEOUT = env.float("SMS_GATEWAY_CONNECT_TIMEOUT", default=3.0)
SMS_GATEWAY_READ_TIMEOUT = env.float("SMS_GATEWAY_READ_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Guichet <no-reply@guichet.localhost>")
# Agents hear about applications due within this many working days (once per deadline).
NOTIFICATIONS_DEADLINE_WARNING_DAYS = env.int("NOTIFICATIONS_DEADLINE_WARNING_DAYS", default=2)
# Webhook signing secrets are stored encrypted with a key derived from this (empty here: dev
# and test set a fixed one, production requires it).
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default="")
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
# Allow http:// and private/loopback endpoints (development and tests only).
WEBHOOK_ALLOW_INSECURE_URLS = env.bool("WEBHOOK_ALLOW_INSECURE_URLS", default=False)
# Legacy: the secret from which agencies' Ed25519 certificate keys were derived before the key
# ring; kept so the certificates they signed still verify (docs/certificates.md, docs/keys.md).
CERTIFICATE_SIGNING_KEY = env.str("CERTIFICATE_SIGNING_KEY", default="")
# How long a demoted certificate (or CA) key keeps verifying the documents it signed.
CERTIFICATE_KEY_VERIFY_DAYS = env.int("CERTIFICATE_KEY_VERIFY_DAYS", default=36500)
# Common name of the platform certification authority that certifies agencies' keys.
CERTIFICATE_CA_NAME = env.str("CERTIFICATE_CA_NAME", default="Guichet Root CA")
# How long a demoted webhook signing key stays published (deliveries are checked on arrival).
WEBHOOK_KEY_VERIFY_SECONDS = env.int("WEBHOOK_KEY_VERIFY_SECONDS", default=86400)
# Certificate files that no certificate names (a job killed between writing the file and
# recording it) are deleted by the sweep once older than this (younger ones may be committing).
CERTIFICATES_ORPHAN_GRACE_SECONDS = env.int("CERTIFICATES_ORPHAN_GRACE_SECONDS", default=3600)
# Verification answers (valid / revoked / unknown) are cached this long in the hot-key store.
CERTIFICATE_VERIFY_CACHE_SECONDS = env.int("CERTIFICATE_VERIFY_CACHE_SECONDS", default=60)
# Public URL of an agency ({domain} is its primary domain), printed in certificate QR codes.
GUICHET_AGENCY_URL = env.str("GUICHET_AGENCY_URL", default="https://{domain}")

# --- Celery -----------------------------------------------------------------------------------

# Without CELERY_BROKER_URL, Celery's filesystem transport under var/celery is used: real
# worker processes, no broker server.
CELERY_FILESYSTEM_DIR = VAR_DIR / "celery"


def broker_url(url: str) -> str:
    """``url`` with a host name for the transports that need none (filesystem, memory).

    kombu falls back to ``localhost`` for them but logs "No hostname was supplied" at every
    connection it opens (so at every publish): naming it here keeps the logs clean.
    """
    parts = urlsplit(url)
    if parts.scheme in {"filesystem", "memory"} and not parts.hostname:
        return f"{parts.scheme}://localhost/{parts.path.lstrip('/')}"
    return url


CELERY_BROKER_URL = broker_url(env.str("CELERY_BROKER_URL", default="filesystem://"))
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Without socket timeouts redis-py waits for the operating system (minutes) on a broker that
    # vanished without closing its sockets; the health check finds a dead idle connection.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=10.0),
        "socket_connect_timeout": env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=4.0),
        "socket_keepalive": True,
        "health_check_interval": env.int("CELERY_BROKER_HEALTH_CHECK_SECONDS", default=10),
        "retry_on_timeout": True,
    }
# Worker and beat reconnect by themselves however long the broker is away (Celery's default
# gives up after 100 attempts, and a worker that starts while the broker is down exits);
# retries back off up to CELERY_BROKER_RETRY_MAX_SECONDS between attempts.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=4.0)
# Longest wait between two reconnection attempts of a worker (config/celery.py).
CELERY_BROKER_RETRY_MAX_SECONDS = env.float("CELERY_BROKER_RETRY_MAX_SECONDS", default=2.0)
CELERY_WORKER_CONSUMER = "config.celery:Consumer"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, Any] = {
    # Flag applications past their deadline; fans out to one task per active agency.
    "applications-flag-overdue": {
        "task": "applications.flag_overdue_all_agencies",
        "schedule": env.int("APPLICATIONS_OVERDUE_INTERVAL_SECONDS", default=900),
    },
    # Verify every audit chain (public + each agency) and record the result.
    "audit-verify-chains": {
        "task": "apps.audit.tasks.audit_verify_all",
        "schedule": env.int("AUDIT_VERIFY_INTERVAL_SECONDS", default=3600),
    },
    # Backstop of the after-commit kicks: seal every schema that still has events waiting.
    "audit-seal": {
        "task": "apps.audit.tasks.audit_seal_all",
        "schedule": env.float("AUDIT_SEAL_INTERVAL_SECONDS", default=5.0),
    },
    # Sign the head of every audit chain once a day.
    "audit-daily-checkpoint": {
        "task": "apps.audit.tasks.audit_checkpoint_all",
        "schedule": crontab(hour=0, minute=5),
    },
    # Publish outbox messages whose after-commit kick failed (broker down) or whose retry is
    # due; fans out to one relay task per schema (public + every agency).
    "outbox-relay": {
        "task": "outbox.relay_all",
        "schedule": env.int("OUTBOX_RELAY_INTERVAL_SECONDS", default=30),
    },
    # Delete real-time events past REALTIME_RETENTION_HOURS (public schema).
    "realtime-purge": {
        "task": "realtime.purge",
        "schedule": env.int("REALTIME_PURGE_INTERVAL_SECONDS", default=900),
    },
    # Delete delivered outbox messages past OUTBOX_RETENTION_DAYS, in every schema.
    "outbox-purge-sent": {
        "task": "outbox.purge_all",
        "schedule": crontab(hour=3, minute=30),
    },
    # Delete certificate files no certificate names (interrupted document jobs), per agency.
    "certificates-sweep-orphans": {
        "task": "certificates.sweep_orphans_all",
        "schedule": env.int("CERTIFICATES_SWEEP_INTERVAL_SECONDS", default=3600),
    },
    # Remind agents of applications whose deadline is near; one task per active agency.
    "notifications-deadline-reminders": {
        "task": "notifications.deadline_reminders_all",
        "schedule": env.int("NOTIFICATIONS_DEADLINE_INTERVAL_SECONDS", default=3600),
    },
    # Expired hot keys are already invisible; the purge reclaims their space.
    "hotkeys-purge-expired": {
        "task": "apps.hotkeys.tasks.hotkeys_purge_expired",
        "schedule": env.int("HOTKEYS_PURGE_INTERVAL_SECONDS", default=300),
    },
    # Retire the token-signing keys whose last token has expired (docs/keys.md).
    "accounts-keys-retire-expired": {
        "task": "accounts.keys_retire_expired",
        "schedule": env.int("KEYS_RETIRE_INTERVAL_SECONDS", default=3600),
    },
    # Idempotency records older than IDEMPOTENCY_RECORD_TTL_SECONDS, in every schema.
    "idempotency-purge-expired": {
        "task": "apps.idempotency.tasks.idempotency_purge_expired",
        "schedule": env.int("IDEMPOTENCY_PURGE_INTERVAL_SECONDS", default=3600),
    },
}
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    # Re-check open payments with the provider, expire abandoned ones, push pending refunds;
    # one task per active agency.
    "task": "payments.reconcile_all",
    "schedule": env.int("PAYMENTS_RECONCILE_INTERVAL_SECONDS", default=60),
}
CELERY_TIMEZONE = TIME_ZONE

# --- Payments (apps/payments) -------------------------------------------------------------------

# The mobile-money aggregator (PayGate Global-like). Empty URL: payments cannot start (503).
PAYMENTS_AGGREGATOR_URL = env.str("PAYMENTS_AGGREGATOR_URL", default="")
PAYMENTS_AGGREGATOR_TOKEN = env.str("PAYMENTS_AGGREGATOR_TOKEN", default="")
# Shared secret of the callbacks' HMAC signature (X-Payment-Signature).
PAYMENTS_CALLBACK_SECRET = env.str("PAYMENTS_CALLBACK_SECRET", default="")
PAYMENTS_CALLBACK_TOLERANCE_SECONDS = env.int("PAYMENTS_CALLBACK_TOLERANCE_SECONDS", default=300)
PAYMENTS_CONNECT_TIMEOUT_SECONDS = env.float("PAYMENTS_CONNECT_TIMEOUT_SECONDS", default=2.0)
PAYMENTS_READ_TIMEOUT_SECONDS = env.float("PAYMENTS_READ_TIMEOUT_SECONDS", default=5.0)
# What an authenticated callback does: "worker" answers at once and a Celery worker re-reads the
# status from the provider and settles; "inline" does both in the callback's request.
PAYMENTS_CALLBACK_SETTLE = env.str("PAYMENTS_CALLBACK_SETTLE", default="worker")
# A payment the citizen has not confirmed after this long is abandoned (expired).
PAYMENTS_EXPIRY_MINUTES = env.int("PAYMENTS_EXPIRY_MINUTES", default=30)

# --- Metrics (apps/core/metrics.py) ------------------------------------------------------------

# The business gauges (open, overdue, due-soon applications, outbox backlog...) are read with
# two queries and shared through the cache for this long: scrapes inside the window cost none.
METRICS_BUSINESS_CACHE_SECONDS = env.int("METRICS_BUSINESS_CACHE_SECONDS", default=30)

# --- Logging ----------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # json or console
LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --- Security defaults (production.py hardens transport) --------------------------------------

# Content-Security-Policy of the HTML pages (apps/core/csp.py, django-csp): the console, the
# API docs and the certificate pages load scripts, styles, fonts and images from this origin
# only. Inline styles stay allowed (the admin's and Swagger UI's style attributes, ReDoc's
# generated styles); inline scripts do not. ReDoc renders its schema in a blob: worker.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        # The real-time gateway when it is not on this origin (`make run`: another port).
        "connect-src": ["'self'", *env.list("REALTIME_CONNECT_SRC", default=[])],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# /metrics: with a token, only `Authorization: Bearer <METRICS_TOKEN>` reads it; without one it
# is served only with DEBUG on (`make run`), and answers 404 otherwise (production).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
