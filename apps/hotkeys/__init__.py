"""Hot-key store: small, fast, tenant-prefixed key/value state shared by every process.

Rate limits, login lockout counters, one-time codes, the token denylist, idempotency records
and hot counters live here rather than in PostgreSQL. Callers go through
``apps.hotkeys.registry.get_store()`` and build keys with ``apps.hotkeys.keys.hot_key()``.
"""
