"""hotkeys_copy, hotkeys_purge and the purge task. None of them needs the database."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from apps.hotkeys.backends.lmdb import LMDBStore
from apps.hotkeys.base import encode_value
from apps.hotkeys.keys import hot_key, hot_prefix
from apps.hotkeys.management.commands.hotkeys_copy import CopyResult, copy_keys
from apps.hotkeys.registry import get_store
from apps.hotkeys.tasks import hotkeys_purge_expired

EXPIRED_LONG_AGO = encode_value(b"stale", 1)


def two_stores(tmp_path: Path) -> dict[str, Any]:
    return {
        alias: {
            "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
            "OPTIONS": {"path": str(tmp_path / alias), "map_size": 8 * 1024**2},
        }
        for alias in ("default", "other")
    }


def seed(store: LMDBStore) -> None:
    store.set(hot_key("agency_a", "otp", "u1"), b"a-otp", ttl=300)
    store.add(hot_key("agency_a", "ratelimit", "ip"), 4)
    store.put_raw([(hot_key("agency_a", "otp", "u0"), EXPIRED_LONG_AGO)])
    store.set(hot_key("agency_b", "otp", "u1"), b"b-otp")


def raw_items(store: LMDBStore, prefix: bytes | None = None) -> list[tuple[bytes, bytes]]:
    return [pair for page in store.iter_raw(prefix) for pair in page]


def test_copy_keeps_values_and_expiry_headers_byte_for_byte(tmp_path: Path) -> None:
    source = LMDBStore(tmp_path / "src", map_size=8 * 1024**2)
    target = LMDBStore(tmp_path / "dst", map_size=8 * 1024**2)
    seed(source)

    result = copy_keys(source, target, batch=2)

    assert result == CopyResult(copied=3, skipped_expired=1)
    expected = [pair for pair in raw_items(source) if pair[1] != EXPIRED_LONG_AGO]
    assert raw_items(target) == expected
    assert target.add(hot_key("agency_a", "ratelimit", "ip"), 1) == 5


def test_copy_command_limits_to_one_tenant_and_prints_counts(tmp_path: Path) -> None:
    out = StringIO()
    with override_settings(HOTKEYS=two_stores(tmp_path)):
        seed(get_store("default"))

        call_command(
            "hotkeys_copy",
            "--from",
            "default",
            "--to",
            "other",
            "--prefix-schema",
            "agency_a",
            stdout=out,
        )

        target = get_store("other")
        assert [key for key, _ in target.range(hot_prefix("agency_a"))] == [
            hot_key("agency_a", "otp", "u1"),
            hot_key("agency_a", "ratelimit", "ip"),
        ]
        assert target.range(hot_prefix("agency_b")) == []
    assert "copied 2 values, skipped 1 expired (default -> other)" in out.getvalue()


def test_copy_command_limits_to_one_namespace(tmp_path: Path) -> None:
    out = StringIO()
    with override_settings(HOTKEYS=two_stores(tmp_path)):
        seed(get_store("default"))

        call_command(
            "hotkeys_copy",
            "--from=default",
            "--to=other",
            "--prefix-schema=agency_a",
            "--namespace=ratelimit",
            stdout=out,
        )

        assert get_store("other").range(hot_prefix("agency_a")) == [
            (
                hot_key("agency_a", "ratelimit", "ip"),
                get_store("default").get(hot_key("agency_a", "ratelimit", "ip")),
            )
        ]
    assert "copied 1 values, skipped 0 expired" in out.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["--from=default", "--to=default"],
        ["--from=default", "--to=other", "--namespace=otp"],
        ["--from=default", "--to=other", "--batch=0"],
        ["--from=default", "--to=nowhere"],
    ],
)
def test_copy_command_refuses_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    with override_settings(HOTKEYS=two_stores(tmp_path)), pytest.raises(CommandError):
        call_command("hotkeys_copy", *args)


def test_purge_command_and_task_delete_expired_values(tmp_path: Path) -> None:
    out = StringIO()
    with override_settings(HOTKEYS=two_stores(tmp_path)):
        store = get_store("default")
        seed(store)
        store.put_raw([(hot_key("agency_b", "otp", "u0"), EXPIRED_LONG_AGO)])

        call_command("hotkeys_purge", "--batch=1", stdout=out)
        store.put_raw([(hot_key("agency_a", "otp", "again"), EXPIRED_LONG_AGO)])
        purged_by_task = hotkeys_purge_expired()

        assert len(raw_items(store)) == 3
    assert "purged 2 expired values from default" in out.getvalue()
    assert purged_by_task == 1


def test_purge_command_reports_an_unknown_alias_as_a_command_error(tmp_path: Path) -> None:
    with (
        override_settings(HOTKEYS=two_stores(tmp_path)),
        pytest.raises(CommandError, match="nowhere"),
    ):
        call_command("hotkeys_purge", "--alias=nowhere")
