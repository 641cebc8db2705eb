"""The key layout: tenant schema first, tuple encoding, prefix semantics."""

from __future__ import annotations

import uuid

import fdb.tuple
import pytest

from apps.hotkeys.keys import hot_key, hot_prefix, prefix_end, unpack_key


def test_key_is_the_packed_tuple_and_starts_with_the_schema() -> None:
    key = hot_key("agency_a", "ratelimit", "login", 42)

    assert key == fdb.tuple.pack(("agency_a", "ratelimit", "login", 42))
    assert key.startswith(hot_prefix("agency_a"))
    assert unpack_key(key) == ("agency_a", "ratelimit", "login", 42)


def test_prefix_matches_its_own_keys_and_never_a_sibling() -> None:
    prefix = hot_prefix("a", "x")

    assert hot_key("a", "x").startswith(prefix)
    assert hot_key("a", "x", "anything").startswith(prefix)
    assert not hot_key("a", "xy").startswith(prefix)
    assert not hot_key("ab", "x").startswith(hot_prefix("a"))
    assert not hot_key("a", "x\x00y").startswith(hot_prefix("a", "x", "y"))


def test_integer_parts_sort_numerically() -> None:
    keys = [hot_key("a", "seq", n) for n in (-300, -1, 0, 7, 255, 256, 10**12)]

    assert sorted(keys) == keys


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("", "ns"), ValueError),
        (("a", ""), ValueError),
        (("a", "ns", True), TypeError),
        (("a", "ns", 1.5), TypeError),
        (("a", "ns", None), TypeError),
        (("a", "ns", "x" * 600), ValueError),
    ],
)
def test_invalid_keys_are_refused(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        hot_key(*args)  # type: ignore[arg-type]


def test_uuid_and_bytes_parts_round_trip() -> None:
    ident = uuid.uuid4()

    assert unpack_key(hot_key("a", "ns", ident, b"\x00\xff")) == ("a", "ns", ident, b"\x00\xff")


def test_parts_without_namespace_are_refused() -> None:
    with pytest.raises(ValueError, match="namespace"):
        hot_prefix("a", None, "x")


def test_prefix_end_is_the_first_key_after_the_prefix() -> None:
    assert prefix_end(b"ab") == b"ac"
    assert prefix_end(b"a\xff\xff") == b"b"
    with pytest.raises(ValueError, match="0xff"):
        prefix_end(b"\xff")
