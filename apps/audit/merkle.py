"""Merkle trees in the manner of RFC 9162 (Certificate Transparency v2), section 2.1.

Pure Python, no Django: the sealer, the proof API, the tests and the standalone verifier
(``scripts/verify_audit.py`` carries its own copy of the verification half) use it.

* leaf hash: ``SHA-256(0x00 || leaf)``; the leaf of an audit event is the 32 bytes of its
  ``hash`` (which covers every field of the event, its sequence and the previous hash);
* node hash: ``SHA-256(0x01 || left || right)``;
* the tree hash of ``n`` leaves splits at ``k``, the largest power of two below ``n``;
* inclusion proof (audit path) and consistency proof as RFC 9162 2.1.3 and 2.1.4 define them,
  with their verification algorithms 2.1.3.2 and 2.1.4.2.

Storage: only complete, aligned subtrees are stored (``(level, index)`` covers leaves
``index << level`` to ``((index + 1) << level) - 1``); they never change. ``range_hash`` builds
the hash of any range the proofs need from O(log n) of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

Node = tuple[int, int]  # (level, index)


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[Node]:
    """The complete aligned subtrees whose concatenation is leaves ``[start, end)``.

    Valid for the ranges RFC 9162's recursion produces (``start`` a multiple of the largest
    power of two not above ``end - start``), which is every range used here.
    """
    nodes: list[Node] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def range_hash(start: int, end: int, node: Callable[[Node], bytes]) -> bytes:
    """The RFC 9162 tree hash of leaves ``[start, end)`` from stored complete subtrees."""
    size = end - start
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        return node((size.bit_length() - 1, start // size))
    k = largest_power_of_two_below(size)
    return node_hash(range_hash(start, start + k, node), range_hash(start + k, end, node))


def root_from_frontier(frontier: list[bytes]) -> bytes:
    """The tree hash from the right edge's complete subtrees (largest first)."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_path(index: int, size: int, node: Callable[[Node], bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1: the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError("leaf index out of range")
    path: list[bytes] = []
    start, end, m = 0, size, index
    # Iterative form of PATH(m, D[start:end]): siblings are collected leaf side first.
    stack: list[bytes] = []
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if m < k:
            stack.append(range_hash(start + k, end, node))
            end = start + k
        else:
            stack.append(range_hash(start, start + k, node))
            start, m = start + k, m - k
    path.extend(reversed(stack))
    return path


def consistency_path(first: int, second: int, node: Callable[[Node], bytes]) -> list[bytes]:
    """RFC 9162 2.1.4.1: the proof that the tree of ``first`` leaves is a prefix of ``second``."""
    if not 0 < first <= second:
        raise ValueError("need 0 < first <= second")
    if first == second:
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(range_hash(start, end, node))
            break
        k = largest_power_of_two_below(n)
        if m <= k:
            proof.append(range_hash(start + k, end, node))
            end = start + k
        else:
            proof.append(range_hash(start, start + k, node))
            start, m, complete = start + k, m - k, False
    proof.reverse()
    return proof


def needed_nodes(compute: Callable[[Callable[[Node], bytes]], object]) -> set[Node]:
    """The stored nodes ``compute`` reads (run once with dummy hashes): fetch them in one go."""
    wanted: set[Node] = set()

    def record(key: Node) -> bytes:
        wanted.add(key)
        return b"\x00" * 32

    compute(record)
    return wanted


def verify_inclusion(
    *, leaf: bytes, index: int, size: int, path: Iterable[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: whether ``leaf`` is leaf ``index`` of the tree ``(size, root)``."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
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
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: whether tree ``(second, second_root)`` extends ``(first, first_root)``."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: first_root is the first subtree
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
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class Frontier:
    """The right edge of a growing tree: complete subtrees, largest first, as ``(level, hash)``.

    ``append`` adds a leaf hash and returns the new complete nodes ``((level, index), hash)``
    to store; ``root`` is the tree hash of everything appended so far.
    """

    def __init__(self, size: int = 0, edge: list[tuple[int, bytes]] | None = None) -> None:
        self.size = size
        self.edge: list[tuple[int, bytes]] = list(edge or [])

    @classmethod
    def load(cls, size: int, nodes: Mapping[Node, bytes]) -> Frontier:
        """The frontier of a tree of ``size`` leaves from its stored complete subtrees."""
        edge = [(level, nodes[(level, index)]) for level, index in perfect_subtrees(0, size)]
        return cls(size, edge)

    def append(self, leaf_digest: bytes) -> list[tuple[Node, bytes]]:
        """Add one leaf hash; the complete subtrees it finishes (the leaf's own node first)."""
        index = self.size
        created: list[tuple[Node, bytes]] = [((0, index), leaf_digest)]
        level, digest = 0, leaf_digest
        while self.edge and self.edge[-1][0] == level:
            _, left = self.edge.pop()
            digest = node_hash(left, digest)
            level += 1
            created.append(((level, index >> level), digest))
        self.edge.append((level, digest))
        self.size += 1
        return created

    def root(self) -> bytes:
        """The tree hash of the current tree."""
        return root_from_frontier([digest for _, digest in self.edge])
