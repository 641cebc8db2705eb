"""Verification codes: short enough to type from paper, with a check character.

A code is 15 random characters of Crockford's base32 (75 bits: not guessable, and the public
lookup is rate-limited) followed by one check character computed with the Luhn mod N
algorithm over the same 32-symbol alphabet, printed in four groups: ``7K3M-Q9XD-2HBT-PW4Z``.
The check character catches every single mistyped character and every swap of two adjacent
ones but ``0``/``Z`` (Luhn's one blind spot) before any lookup. Reading is forgiving: case,
spaces and dashes do not matter, and ``O``/``I``/``L`` are read as ``0``/``1``/``1``
(Crockford).

Codes are looked up by their SHA-256 (``code_digest``), never by the code itself. Codes of
certificates issued before this scheme (26 characters of RFC 4648 base32) still verify.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
DATA_CHARS = 15
CODE_CHARS = DATA_CHARS + 1
GROUP = 4
MAX_CODE_CHARS = 64
LEGACY_CODE_CHARS = 26
_VALUE = {symbol: index for index, symbol in enumerate(ALPHABET)}
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_character(data: str) -> str:
    """The Luhn mod 32 check character of ``data`` (characters of ``ALPHABET``)."""
    factor = 2
    total = 0
    base = len(ALPHABET)
    for symbol in reversed(data):
        addend = factor * _VALUE[symbol]
        factor = 1 if factor == 2 else 2
        total += addend // base + addend % base
    return ALPHABET[(base - total % base) % base]


def code_new() -> str:
    """A fresh verification code: 15 random characters and their check character."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_CHARS))
    return data + check_character(data)


def code_normalise(code: str) -> str:
    """What people type: spaces and dashes dropped, upper case, bounded length.

    A code of this scheme's length also has Crockford's look-alikes mapped; a legacy code
    (RFC 4648 base32, which has ``O``, ``I`` and ``L``) is left as it is.
    """
    text = code[:MAX_CODE_CHARS].replace("-", "").replace(" ", "").strip().upper()
    if len(text) == CODE_CHARS:
        text = text.translate(_CROCKFORD_ALIASES)
    return text


def code_is_well_formed(code: str) -> bool:
    """Whether ``code`` can be a code at all: the check character holds (or a legacy code)."""
    text = code_normalise(code)
    if len(text) == LEGACY_CODE_CHARS:
        return True
    if len(text) != CODE_CHARS or any(symbol not in _VALUE for symbol in text):
        return False
    return check_character(text[:-1]) == text[-1]


def code_display(code: str) -> str:
    """The code as printed: groups of four separated by dashes."""
    text = code_normalise(code)
    if len(text) != CODE_CHARS:
        return text
    return "-".join(text[index : index + GROUP] for index in range(0, len(text), GROUP))


def code_digest(code: str) -> str:
    """The SHA-256 (hex) a code is stored and looked up under."""
    return hashlib.sha256(code_normalise(code).encode("utf-8")).hexdigest()
