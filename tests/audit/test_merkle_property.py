"""Properties of the Merkle log, checked with the standalone verifier's own code.

* At least 1,000 random tamperings of an event, its leaf index, its audit path or the signed
  root are all refused by the inclusion check, at the right place (the event's own hash, or
  the path); untouched proofs all pass (no false alarm).
* A rewritten history — a log that looks consistent (re-hashed, re-chained, re-signed) but
  differs from the one a witness holds a head of — is caught by the consistency proof.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.audit.canonical import event_hash
from apps.audit.merkle import Frontier, consistency_path, inclusion_path, leaf_hash
from tests.audit.conftest import build_chain

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_audit.py"
LOG_SIZE = 300
TAMPERINGS = 1000


def _verifier() -> Any:
    spec = importlib.util.spec_from_file_location("verify_audit_property", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VERIFY = _verifier()


def _tree(records: list[dict[str, Any]]) -> tuple[dict[tuple[int, int], bytes], Frontier]:
    frontier = Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for record in records:
        for key, digest in frontier.append(leaf_hash(bytes.fromhex(record["hash"]))):
            nodes[key] = digest
    return nodes, frontier


RECORDS = build_chain(LOG_SIZE)
NODES, FRONTIER = _tree(RECORDS)
ROOT = FRONTIER.root()


def _check(record: dict[str, Any], index: int, path: list[bytes], root: bytes) -> str:
    """``"ok"``, or where the verifier's checks stop: ``"hash"`` or ``"path"``."""
    if event_hash(record) != record.get("hash") or VERIFY.event_hash(record) != record.get("hash"):
        return "hash"
    try:
        leaf = bytes.fromhex(str(record["hash"]))
    except ValueError:
        return "hash"
    if not VERIFY.verify_inclusion(leaf, index, LOG_SIZE, path, root):
        return "path"
    return "ok"


@st.composite
def tamperings(draw: Any) -> tuple[str, Any]:
    index = draw(st.integers(0, LOG_SIZE - 1))
    kind = draw(st.sampled_from(["field", "index", "path_flip", "path_drop", "path_add", "root"]))
    if kind == "field":
        field = draw(st.sampled_from(sorted(RECORDS[0])))
        return kind, (index, field, draw(st.text(max_size=8) | st.integers() | st.none()))
    if kind == "index":
        return kind, (index, draw(st.integers(-2, LOG_SIZE + 2).filter(lambda j: j != index)))
    if kind == "path_flip":
        return kind, (index, draw(st.integers(0, 63)), draw(st.integers(0, 7)))
    return kind, (index,)


@settings(
    max_examples=TAMPERINGS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tamperings())
def test_every_tampered_inclusion_proof_is_refused_at_the_right_place(
    tampering: tuple[str, Any],
) -> None:
    kind, args = tampering
    index = args[0]
    record = copy.deepcopy(RECORDS[index])
    path = inclusion_path(index, LOG_SIZE, NODES.__getitem__)
    assert _check(record, index, path, ROOT) == "ok"  # no false alarm
    root, leaf_index, expected = ROOT, index, "path"
    if kind == "field":
        _, field, value = args
        if record.get(field) == value and type(record.get(field)) is type(value):
            return
        record[field] = value
        expected = "hash"
    elif kind == "index":
        leaf_index = args[1]
    elif kind == "path_flip":
        if not path:
            return
        position, bit = args[1] % len(path), args[2]
        flipped = bytearray(path[position])
        flipped[bit % 32] ^= 1 << (bit % 8)
        path = [*path[:position], bytes(flipped), *path[position + 1 :]]
    elif kind == "path_drop":
        path = path[:-1]
    elif kind == "path_add":
        path = [*path, hashlib.sha256(b"extra").digest()]
    else:
        root = hashlib.sha256(ROOT).digest()
    assert _check(record, leaf_index, path, root) == expected


def test_a_rewritten_history_is_caught_by_the_consistency_proof() -> None:
    """The witness holds the head of the first 120 events; the platform later serves a log
    whose event 37 was changed, the chain re-hashed from there and a new head signed. Every
    inclusion proof against the new head verifies, but it is not consistent with the old one."""
    witnessed_size = 120
    _, witnessed = _tree(RECORDS[:witnessed_size])
    witnessed_root = witnessed.root()

    rewritten = [dict(r) for r in RECORDS]
    rewritten[36]["changes"] = {"status": {"old": "submitted", "new": "rejected"}}
    prev = rewritten[35]["hash"]
    for record in rewritten[36:]:
        record["prev_hash"] = prev
        record["hash"] = event_hash(record)
        prev = record["hash"]
    nodes, frontier = _tree(rewritten)
    new_root = frontier.root()

    # Internally consistent: its own inclusion proofs verify against its own root.
    for index in (0, 36, LOG_SIZE - 1):
        path = inclusion_path(index, LOG_SIZE, nodes.__getitem__)
        leaf = bytes.fromhex(rewritten[index]["hash"])
        assert VERIFY.verify_inclusion(leaf, index, LOG_SIZE, path, new_root)
    # But the consistency proof it can give does not link the witnessed head to it.
    proof = consistency_path(witnessed_size, LOG_SIZE, nodes.__getitem__)
    assert not VERIFY.verify_consistency(witnessed_size, LOG_SIZE, witnessed_root, new_root, proof)
    # The honest log's proof does.
    honest = consistency_path(witnessed_size, LOG_SIZE, NODES.__getitem__)
    assert VERIFY.verify_consistency(witnessed_size, LOG_SIZE, witnessed_root, ROOT, honest)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, LOG_SIZE), st.integers(1, LOG_SIZE))
def test_consistency_between_any_two_sizes_of_the_honest_log(m: int, n: int) -> None:
    first, second = min(m, n), max(m, n)
    _, small = _tree(RECORDS[:first])
    proof = consistency_path(first, second, NODES.__getitem__)
    _, big = _tree(RECORDS[:second])
    assert VERIFY.verify_consistency(first, second, small.root(), big.root(), proof)
