"""One agency's backup and restore: its schema, its rows in the public schema and its files.

An agency backup is one tar file (``agency_dump``) holding:

* ``manifest.json``: format, slug, schema, when, the server's version, the public schema's
  migrations (a restore needs the same release) and what is inside;
* ``schema.dump``: ``pg_dump --format=custom --schema=<schema>`` (tables, data, sequences,
  indexes, constraints, the audit tables' triggers);
* ``public.json``: the agency's rows in the public schema, found through the foreign keys of
  the catalogue: the agency row and every row that depends on it (domains, memberships,
  partner grants, directory entries, ...), then every row those rows or the agency's schema
  refer to (people, partner clients, ...);
* ``files/<path>``: every stored file under the agency's prefix (``<schema>/``).

``agency_restore`` puts it back into a platform that does not hold the agency (an empty
database migrated by ``migrate_agencies`` with the same release, or the live platform after
the agency was lost): files first (idempotent), then one ``psql --single-transaction`` script
inserting the public rows, replaying the schema and re-installing the audit tables'
protection; a failure leaves the database as it was. Rows the agency depends on that the target
already has (the same person, by id) are kept as they are. It runs as the database owner
(``docker compose run --rm migrate ...``): it creates a schema.

Modules: ``tools`` (the client tools of the server's version), ``rows`` (the public rows),
``archive`` (the file, dump and restore).
"""

from apps.agencies.backup.archive import (
    FORMAT,
    FORMAT_VERSION,
    DumpSummary,
    RestoreSummary,
    agency_dump,
    agency_restore,
    public_migrations,
)
from apps.agencies.backup.rows import PublicRows, agency_public_rows
from apps.agencies.backup.tools import BackupError, postgres_tool, server_major_version

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "BackupError",
    "DumpSummary",
    "PublicRows",
    "RestoreSummary",
    "agency_dump",
    "agency_public_rows",
    "agency_restore",
    "postgres_tool",
    "public_migrations",
    "server_major_version",
]
