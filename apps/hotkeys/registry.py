"""Process-wide access to the configured hot-key stores (``settings.HOTKEYS``).

``HOTKEYS`` is shaped like ``CACHES``::

    HOTKEYS = {"default": {"BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
                           "OPTIONS": {"path": "...", "map_size": 1073741824}}}

Stores are built on first use (never at import time) and cached once per process: after
``fork`` (Celery prefork, gunicorn) the child forgets the parent's stores and builds its own,
because an LMDB environment must not be used in a process other than the one that opened it
(the LMDB backend detaches inherited stores itself; see its module docstring).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from apps.hotkeys.base import HotKeyStore

logger = structlog.get_logger(__name__)

DEFAULT_ALIAS = "default"

_lock = threading.Lock()
_stores: dict[str, HotKeyStore] = {}
_pid = os.getpid()


def build_store(config: Mapping[str, Any]) -> HotKeyStore:
    """Build a store from one ``HOTKEYS`` entry (``BACKEND`` dotted path and ``OPTIONS``)."""
    try:
        backend_path = config["BACKEND"]
    except KeyError:
        raise ImproperlyConfigured("HOTKEYS entry has no BACKEND") from None
    backend = import_string(backend_path)
    if not (isinstance(backend, type) and issubclass(backend, HotKeyStore)):
        raise ImproperlyConfigured("HOTKEYS BACKEND is not a HotKeyStore subclass")
    store: HotKeyStore = backend(**dict(config.get("OPTIONS", {})))
    return store


def _forget_inherited_stores() -> None:
    """Drop (without closing) the parent's stores; runs first thing in a forked child."""
    global _lock, _pid
    # Another thread of the parent may have held the lock at fork time: never wait on it here.
    _lock = threading.Lock()
    _stores.clear()
    _pid = os.getpid()


def get_store(alias: str = DEFAULT_ALIAS) -> HotKeyStore:
    """The store for ``alias``, built lazily and cached for this process.

    Raises ``ImproperlyConfigured`` for an unknown alias and ``StoreUnavailable`` if the
    backend cannot be opened (nothing is cached then, so the next call tries again).
    """
    if _pid != os.getpid():
        _forget_inherited_stores()
    store = _stores.get(alias)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(alias)
        if store is None:
            configs: Mapping[str, Any] = getattr(settings, "HOTKEYS", {})
            if alias not in configs:
                raise ImproperlyConfigured(f"unknown HOTKEYS alias {alias!r}")
            store = build_store(configs[alias])
            _stores[alias] = store
            logger.info("hotkeys_store_opened", alias=alias, backend=store.backend_name)
    return store


def reset_stores() -> None:
    """Close and forget this process's stores (tests, settings changes)."""
    if _pid != os.getpid():
        _forget_inherited_stores()
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()


# Fork-safety: the child forgets the parent's stores as soon as it starts (get_store also
# compares PIDs, for forks that bypass the hooks).
os.register_at_fork(after_in_child=_forget_inherited_stores)
