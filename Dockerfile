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

# gettext compiles the translation catalogues at build time (the .mo files are not committed).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
COPY --from=fdb /usr/lib/libfdb_c.so /usr/lib/libfdb_c.so

RUN groupadd --system guichet \
    && useradd --system --gid guichet --home-dir /app --no-create-home --shell /usr/sbin/nologin guichet

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the pins change.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# Settings need their secrets to import; these dummies exist only for this build step and no
# database is contacted.
ENV DJANGO_SETTINGS_MODULE=config.settings.production \
    GUICHET_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media \
    GUNICORN_BIND=0.0.0.0:8000
RUN DJANGO_SECRET_KEY=build-only-not-a-secret \
    KEYRING_ENCRYPTION_KEY=build-only-not-a-secret \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@127.0.0.1:1/build \
    sh -c 'python manage.py collectstatic --noinput && python scripts/services.py compilemessages' \
    && mkdir -p /app/var/hotkeys /app/var/beat /app/media \
    && chown -R guichet:guichet /app/var /app/media

USER guichet

EXPOSE 8000

# /healthz on the first public host (it must be in DJANGO_ALLOWED_HOSTS).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; host = os.environ.get('GUICHET_PUBLIC_HOSTS', 'localhost').split(',')[0].strip(); r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]

CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
