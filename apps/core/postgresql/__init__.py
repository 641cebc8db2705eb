"""Django's PostgreSQL backend with faster ``timestamptz`` loading (``ORIGINAL_BACKEND``)."""
