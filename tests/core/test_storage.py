"""AtomicFileSystemStorage and storage error mapping (real files)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from apps.core.outages import (
    StorageFullError,
    StorageUnavailableError,
    outage_for,
    storage_error_for,
)
from apps.core.storage import AtomicFileSystemStorage, storage_errors


def test_a_taken_name_gets_another_and_nothing_temporary_remains(tmp_path: Path) -> None:
    storage = AtomicFileSystemStorage(location=tmp_path)

    first = storage.save("a/doc.txt", ContentFile(b"one"))
    second = storage.save("a/doc.txt", ContentFile("two"))  # text content is encoded

    assert first == "a/doc.txt"
    assert second != first
    assert (tmp_path / first).read_bytes() == b"one"
    assert (tmp_path / second).read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        [Path(first).name, Path(second).name]
    )


def test_permissions_of_files_and_folders_are_applied(tmp_path: Path) -> None:
    storage = AtomicFileSystemStorage(
        location=tmp_path, file_permissions_mode=0o640, directory_permissions_mode=0o750
    )

    name = storage.save("deep/er/doc.txt", ContentFile(b"x"))

    assert (tmp_path / name).stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "deep" / "er").stat().st_mode & 0o777 == 0o750


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (errno.ENOSPC, StorageFullError),
        (errno.EDQUOT, StorageFullError),
        (errno.EFBIG, StorageFullError),
        (errno.EROFS, StorageUnavailableError),
        (errno.EACCES, StorageUnavailableError),
        (errno.EIO, StorageUnavailableError),
    ],
)
def test_os_errors_map_to_storage_problems(number: int, expected: type) -> None:
    assert isinstance(storage_error_for(OSError(number, "x")), expected)


def test_other_errors_pass_through_unchanged() -> None:
    assert storage_error_for(OSError(errno.ENOENT, "missing")) is None
    assert outage_for(ValueError("bug")) is None
    with pytest.raises(KeyError), storage_errors():
        raise KeyError("not a storage failure")
    with pytest.raises(StorageFullError), storage_errors():
        raise StorageFullError()
