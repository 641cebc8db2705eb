"""RFC 9162 proofs of ``apps.audit.merkle`` against the specification's own recursion.

Every leaf of every tree of 1 to 33 leaves gets an inclusion proof and every pair of sizes a
consistency proof, computed from stored complete subtrees as the log computes them; each
verifies against the root given by RFC 9162's MTH, and fails once anything is changed.
"""

from __future__ import annotations

import hashlib

import pytest

from apps.audit.merkle import (
    EMPTY_ROOT,
    consistency_path,
    inclusion_path,
    leaf_hash,
    needed_nodes,
    node_hash,
    perfect_subtrees,
    range_hash,
    root_from_frontier,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [f"event-{i}".encode() for i in range(33)]


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, written as the specification writes it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def stored(node: tuple[int, int]) -> bytes:
    """A complete subtree as the log stores it: (level, index) -> its hash."""
    level, index = node
    return mth(LEAVES[index << level : (index + 1) << level])


def test_the_empty_tree_and_the_frontier_give_the_specifications_roots() -> None:
    assert mth([]) == EMPTY_ROOT
    assert root_from_frontier([]) == EMPTY_ROOT
    for size in range(1, len(LEAVES) + 1):
        frontier = [stored(node) for node in perfect_subtrees(0, size)]
        assert root_from_frontier(frontier) == mth(LEAVES[:size])
        assert range_hash(0, size, stored) == mth(LEAVES[:size])


def test_every_inclusion_proof_verifies_and_fails_when_anything_changes() -> None:
    for size in range(1, len(LEAVES) + 1):
        root = mth(LEAVES[:size])
        for index in range(size):
            path = inclusion_path(index, size, stored)
            ok = verify_inclusion(leaf=LEAVES[index], index=index, size=size, path=path, root=root)
            assert ok, (index, size)
            assert not verify_inclusion(
                leaf=b"forged", index=index, size=size, path=path, root=root
            )
            if path:
                bad = [bytes(32), *path[1:]]
                assert not verify_inclusion(
                    leaf=LEAVES[index], index=index, size=size, path=bad, root=root
                )
    assert not verify_inclusion(leaf=LEAVES[0], index=3, size=3, path=[], root=mth(LEAVES[:3]))
    with pytest.raises(ValueError, match="out of range"):
        inclusion_path(5, 5, stored)


def test_every_consistency_proof_verifies_and_a_rewritten_history_fails() -> None:
    for second in range(1, len(LEAVES) + 1):
        second_root = mth(LEAVES[:second])
        for first in range(1, second + 1):
            first_root = mth(LEAVES[:first])
            proof = consistency_path(first, second, stored)
            assert verify_consistency(
                first=first,
                second=second,
                first_root=first_root,
                second_root=second_root,
                proof=proof,
            ), (first, second)
            rewritten = mth([b"other", *LEAVES[1:first]])
            assert not verify_consistency(
                first=first,
                second=second,
                first_root=rewritten,
                second_root=second_root,
                proof=proof,
            )
    assert not verify_consistency(first=0, second=4, first_root=b"", second_root=b"", proof=[])
    assert not verify_consistency(
        first=3, second=3, first_root=mth(LEAVES[:3]), second_root=mth(LEAVES[:3]), proof=[b"x"]
    )
    with pytest.raises(ValueError, match="first <= second"):
        consistency_path(4, 3, stored)


def test_needed_nodes_names_exactly_the_subtrees_a_proof_reads() -> None:
    wanted = needed_nodes(lambda node: inclusion_path(6, 21, node))
    read: set[tuple[int, int]] = set()

    def spy(node: tuple[int, int]) -> bytes:
        read.add(node)
        return stored(node)

    inclusion_path(6, 21, spy)
    assert wanted == read
