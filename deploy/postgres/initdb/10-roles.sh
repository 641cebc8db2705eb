#!/bin/sh
# Run once by the postgres image on its first start (an empty data volume), as the superuser
# POSTGRES_USER, connected to POSTGRES_DB: creates Guichet's owner and app roles
# (deploy/postgres/roles.sql, mounted at /guichet/roles.sql by docker-compose.yml).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v dbname="$POSTGRES_DB" \
    -v owner=guichet_owner -v owner_password="$GUICHET_OWNER_PASSWORD" \
    -v app=guichet_app -v app_password="$GUICHET_APP_PASSWORD" \
    -f /guichet/roles.sql
