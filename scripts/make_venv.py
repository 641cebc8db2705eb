"""``make venv``: create the virtualenv and install the pinned requirements, showing progress.

The first install takes minutes (about 150 pinned packages). pip's own output is either silent
(``--quiet``) or several lines per package; this prints one line per package while pip collects
them (``[venv] 12/151 django==5.2.8``) and, while pip installs them (a long silent phase), a
line every ``TICK_SECONDS`` with the count of packages already in the virtualenv. Any other
line of pip (warnings, errors) is printed as it is. Runs with the system Python (stdlib only).

Usage: ``python3 scripts/make_venv.py VENV REQUIREMENTS``; the exit code is pip's.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Iterable
from pathlib import Path

TICK_SECONDS = 10.0
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==")
_COLLECTING = re.compile(r"^Collecting (\S+)")
_PROCESSING = re.compile(r"^Processing (\S+)")
# pip's per-package chatter, replaced by the one line above.
_CHATTER = (
    "  Using cached",
    "  Downloading",
    "  Obtaining",
    "  File was already downloaded",
    "  Preparing metadata",
    "  Getting requirements",
    "  Installing build dependencies",
    "  Building wheel",
    "  Created wheel",
    "  Stored in directory",
    "Requirement already satisfied",
)


def log(message: str) -> None:
    """One progress line on stdout, flushed at once (make shows it as it comes)."""
    print(f"[venv] {message}", flush=True)


def pinned_count(requirements: Path) -> int:
    """Number of ``name==version`` pins in ``requirements`` and the files it includes (-r)."""
    count = 0
    for raw in requirements.read_text().splitlines():
        line = raw.strip()
        if line.startswith("-r "):
            count += pinned_count(requirements.parent / line[3:].strip())
        elif _PIN.match(line):
            count += 1
    return count


def installed_count(venv_dir: Path) -> int:
    """Number of distributions installed in the virtualenv (``*.dist-info`` directories)."""
    return sum(1 for _ in venv_dir.glob("lib/python*/site-packages/*.dist-info"))


def _package(line: str) -> str | None:
    """``name==version`` (or pip's requirement text) of a line starting a package, else None."""
    match = _COLLECTING.match(line)
    if match:
        return match.group(1)
    match = _PROCESSING.match(line)
    if match:  # a local wheel or archive: name-version-... in its file name
        name, _, rest = Path(match.group(1)).name.partition("-")
        return f"{name}=={rest.split('-')[0]}" if rest else name
    return None


def condense(lines: Iterable[str], total: int) -> Iterable[str]:
    """pip's output lines -> the lines to print (numbered packages, chatter dropped).

    A warning repeated with other quoted values (one per package for a misconfigured index)
    is printed once, and the count of the others at the end.
    """
    collected = 0
    seen_warnings: set[str] = set()
    repeated = 0
    for line in lines:
        line = line.rstrip("\n")
        package = _package(line)
        if package is not None:
            collected += 1
            yield f"[venv] {collected}/{total} {package}"
        elif line.startswith("Installing collected packages"):
            yield f"[venv] installing {collected} packages (a line every {TICK_SECONDS:.0f} s)"
        elif line.startswith("WARNING:"):
            shape = re.sub(r"'[^']*'", "'…'", line)
            if shape in seen_warnings:
                repeated += 1
                continue
            seen_warnings.add(shape)
            yield line
        elif line.strip() and not line.startswith(_CHATTER):
            yield line
    if repeated:
        yield f"[venv] {repeated} repeated warnings not shown"


def install(venv_dir: Path, requirements: Path) -> int:
    """Create ``venv_dir`` if needed and install ``requirements`` into it; pip's exit code."""
    python = venv_dir / "bin" / "python"
    if not python.exists():
        log(f"creating {venv_dir}")
        venv.create(venv_dir, with_pip=True)
    total = pinned_count(requirements)
    log(f"installing {total} pinned packages from {requirements} (minutes the first time)")
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK_SECONDS):
            elapsed = time.monotonic() - started
            log(f"{installed_count(venv_dir)} packages in {venv_dir} after {elapsed:.0f} s")

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    command = [
        str(python),
        "-m",
        "pip",
        "install",
        "--progress-bar",
        "off",
        "-r",
        str(requirements),
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as pip:
        assert pip.stdout is not None
        for line in condense(pip.stdout, total):
            print(line, flush=True)
    done.set()
    ticker.join()
    if pip.returncode == 0:
        log(f"done in {time.monotonic() - started:.0f} s")
    return pip.returncode


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(install(Path(sys.argv[1]), Path(sys.argv[2])))
