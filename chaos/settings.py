"""Settings of the processes under fault injection: ``config.settings.production`` plus what a
throw-away stack on loopback needs, so production itself carries no chaos code.

* Celery uses its own queue (``guichet-chaos``);
* e-mail goes to files under the stack's var directory (searched by ``Message-ID``);
* file writes are confirmed late (``chaos/storage.py``), like an object store on a slow link.

Everything else (middleware, pool, gunicorn configuration, timeouts) is production's, read from
the same environment variables.
"""

from __future__ import annotations

from config.settings.production import *  # noqa: F403
from config.settings.production import VAR_DIR

CELERY_TASK_DEFAULT_QUEUE = "guichet-chaos"
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# Writes are confirmed late (chaos/storage.py), so a worker can be killed between a file's
# writing and its row's commit.
STORAGES = {
    **STORAGES,  # noqa: F405
    "default": {"BACKEND": "chaos.storage.SlowConfirmStorage"},
}
