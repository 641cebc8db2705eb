"""Idempotency records for creating POSTs (``Idempotency-Key``); see ``decorators.idempotent``."""
