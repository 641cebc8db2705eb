"""Verification codes: short, typable, with a check character that catches typing mistakes."""

from __future__ import annotations

import pytest

from apps.certificates.codes import (
    ALPHABET,
    check_character,
    code_digest,
    code_display,
    code_is_well_formed,
    code_new,
    code_normalise,
)


def test_a_code_is_sixteen_characters_printed_in_four_groups():
    code = code_new()
    assert len(code) == 16
    assert set(code) <= set(ALPHABET)
    assert code_is_well_formed(code)
    shown = code_display(code)
    assert len(shown) == 19
    assert shown.count("-") == 3


def test_codes_are_random():
    assert len({code_new() for _ in range(200)}) == 200


def test_every_single_typing_mistake_and_almost_every_neighbour_swap_is_caught():
    code = code_new()
    for index in range(16):
        for symbol in ALPHABET:
            if symbol != code[index]:
                assert not code_is_well_formed(code[:index] + symbol + code[index + 1 :])
    for index in range(15):
        swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
        if swapped != code and {code[index], code[index + 1]} != {"0", "Z"}:  # Luhn's blind spot
            assert not code_is_well_formed(swapped)


def test_typing_is_forgiving():
    data = "7K3MQ9XD2HBTPW0"
    code = data + check_character(data)
    typed = code_display(code).lower().replace("0", "o")
    assert code_normalise(typed) == code
    assert code_digest(f" {typed} ") == code_digest(code)
    assert code_normalise("1ILl" + code[4:]) == "1111" + code[4:]


@pytest.mark.parametrize("text", ["", "ABC", "U" * 16, "!" * 16])
def test_malformed_codes_are_refused(text):
    assert not code_is_well_formed(text)


def test_legacy_codes_still_read_as_they_are():
    legacy = "MFRGGZDFMZTWQ2LKNNWG23TPOA"  # 26 characters of RFC 4648 base32, with O, I, L
    assert code_normalise(legacy.lower()) == legacy
    assert code_is_well_formed(legacy)


@pytest.mark.django_db
def test_the_verification_page_says_when_a_code_is_mistyped(api, certificate):
    from tests.conftest import HOST_A

    client = api(HOST_A)
    code = certificate.code
    wrong = code[:3] + ("X" if code[3] != "X" else "Y") + code[4:]
    shown = client.get(f"/verify/{certificate.display_code.lower()}/")
    mistyped = client.get(f"/verify/{wrong}/")

    assert shown.status_code == 200
    assert certificate.display_code in shown.content.decode()
    assert mistyped.status_code == 404
    assert "faute de frappe" in mistyped.content.decode()
