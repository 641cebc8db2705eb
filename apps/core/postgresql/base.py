"""Django's PostgreSQL backend, loading ``timestamptz`` values with psycopg's C loader.

django-tenants builds its backend on the one ``ORIGINAL_BACKEND`` names: this one. Django
registers its own ``timestamptz`` loader on every connection, a Python subclass of psycopg's
pure-Python loader, so each timestamp of each row is parsed in Python: about 5 µs against
0.3 µs for psycopg's C loader, or 0.7 ms of the work queue's ~7 ms (50 rows, 3 timestamps each;
benches/README.md). Django needs that subclass only to attach a time zone other than the
session's. With ``USE_TZ`` Django's connections always run in UTC (it sets the session's
``TimeZone``), which is the zone the C loader attaches by itself, so the C loader is used
whenever psycopg's C implementation is installed and the connection's zone is UTC.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

import psycopg
from django.db.backends.postgresql import base

TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
_C_LOADER: Any = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)
HAS_C_LOADER = psycopg.pq.__impl__ in ("c", "binary") and _C_LOADER.__module__.startswith(
    ("psycopg_c", "psycopg_binary")
)


class UTCTimestamptzLoader:
    """Stands for psycopg's C ``timestamptz`` loader where Django looks for its own.

    psycopg instantiates a registered loader class as ``Loader(oid, context)``; this one hands
    back the C loader itself. ``timezone`` is what Django's ``create_cursor`` compares with the
    connection's zone before registering its Python loader again.
    """

    timezone: tzinfo = UTC
    format = _C_LOADER.format

    def __new__(cls, oid: int, context: Any = None) -> Any:
        return _C_LOADER(oid, context)


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL wrapper with ``UTCTimestamptzLoader`` on UTC connections."""

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        context = params.get("context")
        if HAS_C_LOADER and context is not None and self.timezone == UTC:
            context.register_loader(TIMESTAMPTZ_OID, UTCTimestamptzLoader)
        return params
