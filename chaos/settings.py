"""Settings of the processes under fault injection: ``config.settings.production`` plus what a
throw-away stack on loopback needs, so production itself carries no chaos code.

* Celery uses its own queue (``guichet-chaos``);
* e-mail goes to files under the stack's var directory (searched by ``Message-ID``).

Everything else (middleware, pool, gunicorn configuration, timeouts) is production's, read from
the same environment variables.
"""

from __future__ import annotations

from config.settings.production import *  # noqa: F403
from config.settings.production import VAR_DIR

CELERY_TASK_DEFAULT_QUEUE = "guichet-chaos"
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
