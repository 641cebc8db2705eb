#!/usr/bin/env python3
"""Check an agency's audit log from outside, with the published public keys only.

Needs Python 3.11+ and ``cryptography``; nothing of Guichet. Inputs are the JSON answers of
the audit API of an agency host (docs/audit.md, "Checking the log from outside"):

* ``keys.json``: ``GET /api/v1/audit/keys/`` (the platform's audit keys and their history);
* a signed tree head: ``GET /api/v1/audit/tree-head/``;
* an inclusion proof: ``GET /api/v1/audit/events/<id>/inclusion/``;
* a consistency proof: ``GET /api/v1/audit/consistency/?first=M&second=N``.

Usage::

    python verify_audit.py --keys keys.json tree-head head.json
    python verify_audit.py --keys keys.json inclusion proof.json
    python verify_audit.py --keys keys.json consistency proof.json
    python verify_audit.py --keys keys.json --witness-key BASE64 tree-head head.json

Exit status 0 when everything verifies, 1 otherwise (the reason is printed).

What is checked (RFC 9162, sections 2.1.3.2 and 2.1.4.2): the Ed25519 signature of each tree
head over the canonical JSON of its statement; for an inclusion proof, that the event's
``hash`` is the SHA-256 of its canonical serialisation and that its leaf
(``SHA-256(0x00 || hash bytes)``) with the audit path gives the signed root; for a consistency
proof, that the later signed root extends the earlier one.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TREE_HEAD_FIELDS = ("v", "type", "schema", "tree_size", "root_hash", "timestamp", "key_id")


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (docs/audit.md, "Canonical serialisation")."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def event_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an event's canonical record without its ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Iterable[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class Failure(Exception):
    """Something does not verify; the message says what."""


def load_keys(keys: Any) -> dict[str, Ed25519PublicKey]:
    """``{kid: public key}`` from the audit keys answer (a list, or a page with results)."""
    rows = keys.get("results", keys) if isinstance(keys, dict) else keys
    return {
        row["kid"]: Ed25519PublicKey.from_public_bytes(base64.b64decode(row["public_key"]))
        for row in rows
    }


def _verify_signature(key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def check_tree_head(
    head: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    witness_key: Ed25519PublicKey | None = None,
) -> None:
    """The platform's signature (and the witness's, when its key is given) over the head."""
    message = canonical_bytes({field: head[field] for field in TREE_HEAD_FIELDS})
    key = keys.get(str(head.get("key_id")))
    if key is None:
        raise Failure(f"tree head signed with unknown key {head.get('key_id')!r}")
    if head.get("type") != "guichet.audit.tree_head" or head.get("v") != 1:
        raise Failure("not a version 1 tree head")
    if not _verify_signature(key, str(head.get("signature", "")), message):
        raise Failure(f"tree head of size {head['tree_size']}: bad signature")
    if witness_key is not None and not any(
        _verify_signature(witness_key, str(w.get("signature", "")), message)
        for w in head.get("witness_signatures", [])
    ):
        raise Failure(f"tree head of size {head['tree_size']}: no valid witness co-signature")


def check_inclusion(
    proof: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    witness_key: Ed25519PublicKey | None = None,
) -> None:
    """The event is intact and is leaf ``leaf_index`` of the signed tree."""
    head = proof["tree_head"]
    check_tree_head(head, keys, witness_key)
    event = proof["event"]
    if event_hash(event) != event.get("hash"):
        raise Failure("the event's hash is not the hash of its content")
    if event.get("schema") != head["schema"]:
        raise Failure("the event belongs to another agency's log")
    if event.get("sequence") != proof["leaf_index"] + 1:
        raise Failure("the event's sequence is not its leaf index + 1")
    if proof["tree_size"] != head["tree_size"]:
        raise Failure("the proof is for another tree size than the head")
    path = [bytes.fromhex(p) for p in proof["audit_path"]]
    if not verify_inclusion(
        bytes.fromhex(event["hash"]),
        proof["leaf_index"],
        head["tree_size"],
        path,
        bytes.fromhex(head["root_hash"]),
    ):
        raise Failure(f"event {event.get('sequence')} is not in the signed tree")


def check_consistency(
    proof: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    witness_key: Ed25519PublicKey | None = None,
) -> None:
    """Both heads are signed and the later tree extends the earlier one."""
    first, second = proof["first_tree_head"], proof["second_tree_head"]
    check_tree_head(first, keys, witness_key)
    check_tree_head(second, keys, witness_key)
    if first["schema"] != second["schema"]:
        raise Failure("the two heads are of different agencies")
    if (first["tree_size"], second["tree_size"]) != (proof["first"], proof["second"]):
        raise Failure("the heads do not have the sizes the proof is for")
    if not verify_consistency(
        proof["first"],
        proof["second"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(p) for p in proof["proof"]],
    ):
        raise Failure(f"the tree of size {proof['second']} does not extend size {proof['first']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", required=True, help="the audit keys (JSON)")
    parser.add_argument("--witness-key", help="the witness's Ed25519 public key (raw, base64)")
    parser.add_argument("kind", choices=("tree-head", "inclusion", "consistency"))
    parser.add_argument("document", help="the tree head or proof (JSON)")
    args = parser.parse_args(argv)
    with open(args.keys, encoding="utf-8") as handle:
        keys = load_keys(json.load(handle))
    with open(args.document, encoding="utf-8") as handle:
        document = json.load(handle)
    witness = (
        Ed25519PublicKey.from_public_bytes(base64.b64decode(args.witness_key))
        if args.witness_key
        else None
    )
    check = {
        "tree-head": check_tree_head,
        "inclusion": check_inclusion,
        "consistency": check_consistency,
    }[args.kind]
    try:
        check(document, keys, witness)
    except (Failure, KeyError, TypeError, ValueError) as exc:
        print(f"FAILED: {exc}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
