"""Settings of the processes under test: ``config.settings.production`` plus three bench-only
changes, so production itself carries no benchmark code.

* the public host's URLconf also serves the floor, ``GET /bench/floor`` (``benches.harness.urls``);
* Celery uses its own queue, so a bench never consumes (or purges) someone else's tasks;
* e-mail goes to files under the bench's var directory instead of an SMTP server.

Everything else (middleware, authentication, throttles, logging, database options, pool) is
exactly production's, read from the same environment variables.
"""

from __future__ import annotations

import os
import sys

from config.settings.production import *  # noqa: F403
from config.settings.production import VAR_DIR, env

PUBLIC_SCHEMA_URLCONF = "benches.harness.urls"
CELERY_TASK_DEFAULT_QUEUE = env.str("BENCH_CELERY_QUEUE", default="guichet-bench")
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# The migrate benchmark adds a throwaway tenant app whose only migration lives in a temporary
# directory (never in the repository); see benches/harness/tenancy.py.
_EXTRA_DIR = os.environ.get("BENCH_EXTRA_APP_DIR", "")
if _EXTRA_DIR:
    sys.path.insert(0, _EXTRA_DIR)
    TENANT_APPS = [*TENANT_APPS, "bench_extra"]  # noqa: F405
    INSTALLED_APPS = [*INSTALLED_APPS, "bench_extra"]  # noqa: F405
