"""The canonical serialisation (format v1) is exactly what docs/audit.md says."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.audit.canonical import (
    EVENT_FIELDS_V1,
    GENESIS_HASH,
    canonical_bytes,
    clean_text,
    event_hash,
    event_record,
    format_timestamp,
    normalise_changes,
    normalise_ip,
    parse_timestamp,
)

STORED = {
    "id": uuid.UUID("7D3F0B3A-2C1E-4C6B-9A55-0E0E4D1C2B3A"),
    "version": 1,
    "agency_schema": "agence_a",
    "sequence": 1,
    "prev_hash": GENESIS_HASH,
    "occurred_at": datetime(2026, 11, 21, 9, 30, 0, 5, tzinfo=timezone(timedelta(hours=1))),
    "actor_type": "user",
    "actor_id": "u-1",
    "actor_role": "agent",
    "action": "application.submitted",
    "target_type": "application",
    "target_id": "42",
    "changes": {"status": {"old": "draft", "new": "soumis"}},
    "outcome": "success",
    "ip": "2001:DB8:0:0::1",
    "user_agent": "curl/8",
    "request_id": "req-1",
}

# The bytes of STORED, written by hand from the specification in docs/audit.md.
EXPECTED_BYTES = (
    '{"action":"application.submitted","actor_id":"u-1","actor_role":"agent",'
    '"actor_type":"user","changes":{"status":{"new":"soumis","old":"draft"}},'
    '"id":"7d3f0b3a-2c1e-4c6b-9a55-0e0e4d1c2b3a","ip":"2001:db8::1",'
    '"occurred_at":"2026-11-21T08:30:00.000005Z","outcome":"success",'
    '"prev_hash":"' + "0" * 64 + '","request_id":"req-1","schema":"agence_a","sequence":1,'
    '"target_id":"42","target_type":"application","user_agent":"curl/8","v":1}'
).encode()


def test_record_has_every_v1_field_in_normal_form():
    record = event_record(STORED)

    assert tuple(sorted(record)) == tuple(sorted(EVENT_FIELDS_V1))
    assert record["id"] == "7d3f0b3a-2c1e-4c6b-9a55-0e0e4d1c2b3a"
    assert record["occurred_at"] == "2026-11-21T08:30:00.000005Z"  # UTC, six digits
    assert record["ip"] == "2001:db8::1"
    assert "hash" not in record


def test_bytes_and_hash_match_the_hand_written_specification():
    record = event_record(STORED)

    assert canonical_bytes(record) == EXPECTED_BYTES
    assert event_hash(record) == hashlib.sha256(EXPECTED_BYTES).hexdigest()
    assert event_hash({**record, "hash": "anything"}) == event_hash(record)  # hash key ignored


def test_non_ascii_is_utf8_not_escaped_and_keys_are_sorted():
    data = canonical_bytes({"é": "à", "a": 1, "Z": [1, {"y": None, "x": True}]})

    assert data == '{"Z":[1,{"x":true,"y":null}],"a":1,"é":"à"}'.encode()


def test_non_finite_numbers_are_refused():
    with pytest.raises(ValueError, match="Out of range"):
        canonical_bytes({"x": float("nan")})


def test_timestamps_are_utc_with_microseconds_and_round_trip():
    value = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    assert format_timestamp(value) == "2026-01-02T03:04:05.000000Z"
    assert parse_timestamp(format_timestamp(value)) == value
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2026, 1, 2))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("", None),
        (None, None),
        ("not-an-ip", None),
    ],
)
def test_ip_addresses_are_normalised(given, expected):
    assert normalise_ip(given) == expected


def test_changes_become_jsonb_stable():
    changes = normalise_changes(
        {
            "fee": 1e100,
            "rate": Decimal("12.50"),
            "tags": {"b", "a"},
            "pair": (1, 2),
            1: "int key",
            "nul": "a\x00b",
            "when": datetime(2026, 1, 1, tzinfo=UTC),
            "ok": [True, None, 3, "x"],
        }
    )

    assert changes == {
        "fee": "1e+100",
        "rate": "12.50",
        "tags": ["a", "b"],
        "pair": [1, 2],
        "1": "int key",
        "nul": "ab",
        "when": "2026-01-01 00:00:00+00:00",
        "ok": [True, None, 3, "x"],
    }
    json.dumps(changes)  # serialisable as is


def test_clean_text_strips_nul_and_truncates():
    assert clean_text("ab\x00cdef", 4) == "abcd"
    assert clean_text(None, 4) == ""
    assert clean_text("\ud800x", 10) == "?x"  # a lone surrogate cannot be stored


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(value=st.dictionaries(st.text(), json_like, max_size=6))
def test_orjson_writes_the_specified_bytes_for_audit_values(value):
    # The verifier's fast path relies on it (and falls back to json when it cannot).
    value = normalise_changes(value)

    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == canonical_bytes(value)
