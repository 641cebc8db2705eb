"""The language of the current request: French by default, English when asked for."""

from __future__ import annotations

from django.utils.translation import get_language


def in_english() -> bool:
    """Whether texts with a French and an English version should be given in English."""
    return (get_language() or "fr").startswith("en")
