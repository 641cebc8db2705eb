"""The pure verifier: each kind of broken link, at the right sequence, and no false alarm."""

from __future__ import annotations

import copy

import pytest

from apps.audit.canonical import GENESIS_HASH, event_hash
from apps.audit.verify import Anchor, chain_verify
from tests.audit.conftest import build_chain


def rehash(record):
    record["hash"] = event_hash(record)
    return record


def test_a_valid_chain_verifies():
    chain = build_chain(50)

    result = chain_verify(chain, schema="agence_a", anchors=[Anchor(50, chain[-1]["hash"])])

    assert result.ok
    assert (result.checked, result.last_sequence, result.anchors_checked) == (50, 50, 1)
    assert result.last_hash == chain[-1]["hash"]
    assert result.as_dict() == {
        "schema": "agence_a",
        "ok": True,
        "checked": 50,
        "last_sequence": 50,
        "anchors_checked": 1,
    }


def test_an_empty_chain_verifies():
    result = chain_verify([], schema="public")

    assert result.ok
    assert (result.checked, result.last_sequence, result.last_hash) == (0, 0, GENESIS_HASH)


def test_the_verifier_streams_and_stops_at_the_first_break():
    chain = build_chain(20)
    chain[5]["action"] = "forged"
    consumed = []

    def stream():
        for record in chain:
            consumed.append(record["sequence"])
            yield record

    result = chain_verify(stream())

    assert result.first_break.sequence == 6
    assert consumed == list(range(1, 7))  # nothing read after the break


@pytest.mark.parametrize(
    ("tamper", "sequence", "reason"),
    [
        (lambda c: c[3].update(action="forged"), 4, "hash_mismatch"),
        (lambda c: c[3].update(hash="f" * 64), 4, "hash_mismatch"),
        (lambda c: c[3].update(prev_hash="e" * 64), 4, "prev_hash_mismatch"),
        (lambda c: c[3].update(v=2), 4, "unsupported_version"),
        (lambda c: c[3].update(v=True), 4, "unsupported_version"),
        (lambda c: c[3].update(schema="agence_b"), 4, "schema_mismatch"),
        (lambda c: c.pop(3), 4, "sequence_gap"),
        (lambda c: c.insert(4, copy.deepcopy(c[3])), 5, "sequence_duplicate"),
        (lambda c: c.__setitem__(slice(3, 5), [c[4], c[3]]), 4, "sequence_gap"),
        (lambda c: c.__setitem__(slice(3, 6), [c[3], c[5], c[4]]), 5, "sequence_gap"),
        (lambda c: c.insert(6, copy.deepcopy(c[2])), 7, "sequence_reorder"),
        (lambda c: c[3].update(sequence="4"), 4, "sequence_gap"),
        (lambda c: c[3].pop("sequence"), 4, "sequence_gap"),
        (lambda c: c[3].update(changes={"x": float("nan")}), 4, "hash_mismatch"),
    ],
)
def test_each_kind_of_break_is_reported_at_its_sequence(tamper, sequence, reason):
    chain = build_chain(10)
    tamper(chain)

    result = chain_verify(chain, schema="agence_a")

    assert not result.ok
    assert (result.first_break.sequence, result.first_break.reason) == (sequence, reason)
    assert result.checked == sequence - 1
    assert result.as_dict()["break"]["reason"] == reason


def test_a_rewritten_and_rehashed_suffix_is_caught_by_a_checkpoint():
    chain = build_chain(10)
    anchor = Anchor(10, chain[-1]["hash"])
    chain[6]["action"] = "forged"
    prev = chain[5]["hash"]
    for record in chain[6:]:  # the attacker re-links everything after the change
        record["prev_hash"] = prev
        prev = rehash(record)["hash"]
    assert chain_verify(chain).ok  # without a checkpoint the rewrite is consistent

    result = chain_verify(chain, anchors=[anchor])

    assert (result.first_break.sequence, result.first_break.reason) == (10, "checkpoint_mismatch")


def test_deleting_the_last_events_is_caught_by_a_checkpoint():
    chain = build_chain(10)
    anchors = [Anchor(5, chain[4]["hash"]), Anchor(10, chain[-1]["hash"])]

    result = chain_verify(chain[:8], anchors=anchors)

    assert (result.first_break.sequence, result.first_break.reason) == (9, "truncated")
    assert result.anchors_checked == 1


def test_a_range_can_start_after_the_genesis():
    chain = build_chain(10)

    ok = chain_verify(chain[4:], start_sequence=5, start_prev_hash=chain[3]["hash"])
    wrong_start = chain_verify(chain[4:], start_sequence=5, start_prev_hash=GENESIS_HASH)
    old_anchor_ignored = chain_verify(
        chain[4:], start_sequence=5, start_prev_hash=chain[3]["hash"], anchors=[Anchor(2, "x")]
    )

    assert ok.ok
    assert ok.last_sequence == 10
    assert wrong_start.first_break.reason == "prev_hash_mismatch"
    assert old_anchor_ignored.ok
