"""Child-process bodies for the multi-process tests (importable under ``spawn``).

Each child builds its own store from a ``StoreSpec`` (backend path + options), exactly as a
fresh worker process would, and reports through a ``multiprocessing`` queue.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

from apps.hotkeys.base import HotKeyStore, HotKeyTransaction, pack_counter, unpack_counter


@dataclass(frozen=True)
class StoreSpec:
    """How a child process opens the store under test."""

    backend: str
    options: dict[str, Any] = field(default_factory=dict)

    def open(self) -> HotKeyStore:
        module_name, class_name = self.backend.rsplit(".", 1)
        store: HotKeyStore = getattr(importlib.import_module(module_name), class_name)(
            **self.options
        )
        return store


def atomic_adds(spec: StoreSpec, key: bytes, count: int, start: Any, out: Any) -> None:
    """``count`` atomic increments of ``key``; report the largest value ``add`` returned."""
    store = spec.open()
    start.wait()
    highest = 0
    for _ in range(count):
        highest = max(highest, store.add(key, 1))
    out.put((os.getpid(), highest))


def cas_increments(spec: StoreSpec, key: bytes, count: int, start: Any, out: Any) -> None:
    """``count`` read / compare-and-set increments of ``key``; report the failed swaps."""
    store = spec.open()
    start.wait()
    failures = 0
    done = 0
    while done < count:
        current = store.get(key)
        value = 0 if current is None else unpack_counter(current)
        if store.compare_and_set(key, current, pack_counter(value + 1)):
            done += 1
        else:
            failures += 1
    out.put((os.getpid(), failures))


def paired_transactions(
    spec: StoreSpec,
    key_a: bytes,
    key_b: bytes,
    prefix: bytes,
    count: int,
    start: Any,
    out: Any,
) -> None:
    """``count`` transactions that each increment two keys; report torn snapshots seen.

    ``prefix`` covers exactly ``key_a`` and ``key_b``: one ``range`` reads both from one
    snapshot, outside any write transaction.
    """
    store = spec.open()
    start.wait()
    torn = 0

    def bump_both(tx: HotKeyTransaction) -> None:
        tx.add(key_a, 1)
        tx.add(key_b, 1)

    for _ in range(count):
        store.transaction(bump_both)
        values = [value for _, value in store.range(prefix)]
        if len(values) != 2 or values[0] != values[1]:
            torn += 1
    out.put((os.getpid(), torn))
