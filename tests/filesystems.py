"""Real small and read-only file systems for the storage failure tests (tmpfs mounts).

Permission bits do not stop root, and tests run as root on the CI machine, so a "read-only
folder" or a "full disk" is made for real: a tmpfs of a few hundred KiB, remounted read-only or
filled up. Mounting needs CAP_SYS_ADMIN; where it is refused the test is skipped with the
reason printed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class Filesystem:
    """A mounted tmpfs the test may fill, grow, or turn read-only and back."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _mount(self, *options: str) -> None:
        subprocess.run(
            ["mount", "-o", ",".join(("remount", *options)), str(self.path)],
            check=True,
            capture_output=True,
        )

    def read_only(self) -> None:
        """Remount read-only (refused while a file is open for writing on it)."""
        self._mount("ro")

    def writable(self) -> None:
        """Remount read-write."""
        self._mount("rw")

    def resize(self, size: str) -> None:
        """Change the size (``"4m"``): growing a full file system frees space."""
        self._mount(f"size={size}")

    def fill(self) -> None:
        """Use every free byte (a file of zeros written until ENOSPC)."""
        with open(self.path / ".filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError:
                pass

    def free(self) -> None:
        """Remove what ``fill`` wrote."""
        (self.path / ".filler").unlink(missing_ok=True)


@contextmanager
def tmpfs(path: Path, size: str = "512k") -> Iterator[Filesystem]:
    """Mount a tmpfs of ``size`` at ``path`` for the block; skip the test if mounting is refused."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {mounted.stderr.strip()}"
        print(message)
        pytest.skip(message)
    try:
        yield Filesystem(path)
    finally:
        # Lazy: a process of the test may still hold a file open on it.
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
