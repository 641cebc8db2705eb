"""Settings of the image's build steps only (Dockerfile: collectstatic, compilemessages).

A build step must not need a runtime secret, so it cannot load ``config.settings.production``,
which refuses to import without its keys. This module is base.py (whose static-file settings
production keeps unchanged: tests/core/test_dockerfile.py compares them) with nothing to sign:
the development defaults of the secrets stay in memory of a build step and are never used.

It refuses to serve: no host is allowed (every request gets 400), debug is off and the database
URL points to a name that cannot resolve. Running the image still requires production's secrets.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import database_from_url

DEBUG = False
ALLOWED_HOSTS = []
WHITENOISE_USE_FINDERS = False
DATABASES = {"default": database_from_url("postgres://build@no-database-at-build.invalid:1/none")}
