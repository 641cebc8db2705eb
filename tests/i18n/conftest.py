"""Compile the project's catalogue when its .mo is missing or older than its .po.

``make test`` compiles every catalogue first; this makes a bare ``pytest tests/i18n`` behave
the same (the .mo files are not committed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import trans_real

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    stale = [
        po
        for po in (ROOT / "locale").rglob("*.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command(
            "compilemessages", locale=["fr", "en"], verbosity=0, ignore_patterns=[".venv", "var"]
        )
        # Forget catalogues loaded before compiling.
        trans_real._translations = {}
        trans_real._default = None
        translation.activate("fr")
        translation.deactivate()
