# Production image of Guichet: gunicorn by default; the worker, beat and migrate services of
# docker-compose.yml run other commands in the same image.

# The FoundationDB client library comes from the official image of the server version that
# docker-compose.yml runs (the Python bindings load libfdb_c.so; API version 730).
FROM foundationdb/foundationdb:7.3.63 AS fdb

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext compiles the translation catalogues at build time (the .mo files are not committed);
# poppler-utils draws the console's certificate previews as images (pdftoppm).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends gettext poppler-utils \
    && rm -rf /var/lib/apt/lists/*
COPY --from=fdb /usr/lib/libfdb_c.so /usr/lib/libfdb_c.so

RUN groupadd --system guichet \
    && useradd --system --gid guichet --home-dir /app --no-create-home --shell /usr/sbin/nologin guichet

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the pins change.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# The same in every container; docker-compose.yml sets the rest (README's environment table).
ENV GUICHET_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media \
    GUNICORN_BIND=0.0.0.0:8000

# Build steps load config.settings.build: no secret, no database (production's settings refuse
# to import without their keys, and must keep refusing at run time). Each RUN below holds one
# kind of command: tests/core/test_dockerfile.py runs every RUN here except the apt-get, pip,
# user-creation and chown ones.
RUN DJANGO_SETTINGS_MODULE=config.settings.build python manage.py collectstatic --noinput \
    && DJANGO_SETTINGS_MODULE=config.settings.build python scripts/services.py compilemessages
RUN mkdir -p /app/var/hotkeys /app/var/beat /app/media
RUN chown -R guichet:guichet /app/var /app/media

# At run time: production settings, which require their secrets (docker-compose.yml names them).
ENV DJANGO_SETTINGS_MODULE=config.settings.production

USER guichet

EXPOSE 8000

# /healthz on the first public host (it must be in DJANGO_ALLOWED_HOSTS).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; host = os.environ.get('GUICHET_PUBLIC_HOSTS', 'localhost').split(',')[0].strip(); r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]

CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
