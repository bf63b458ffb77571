"""PII: found by shape, kept only when the number's own checks pass."""

from __future__ import annotations

import pytest

from app.guardian.detectors import pii

ALL = ["email", "phone", "payment_card", "iban", "us_ssn", "uk_nino", "es_dni", "fr_nir",
       "nl_bsn", "in_aadhaar", "br_cpf"]


def _found(text: str, threshold: float = 0.5) -> list[tuple[str, str]]:
    return [(h.detector.removeprefix("pii."), text[h.start:h.end])
            for h in pii.finder(ALL, "US")(text) if h.score >= threshold]


@pytest.mark.parametrize(("text", "expected"), [
    ("write to ada.lovelace+notes@example.co.uk today",
     ("email", "ada.lovelace+notes@example.co.uk")),
    ("call +1 415-555-2671 now", ("phone", "+1 415-555-2671")),
    ("or (212) 555-0142 at noon", ("phone", "(212) 555-0142")),
    ("London office: +44 20 7946 0958", ("phone", "+44 20 7946 0958")),
    ("Visa 4111 1111 1111 1111 exp 12/29", ("payment_card", "4111 1111 1111 1111")),
    ("amex 3782-822463-10005 on file", ("payment_card", "3782-822463-10005")),
    ("pay to GB82 WEST 1234 5698 7654 32 please", ("iban", "GB82 WEST 1234 5698 7654 32")),
    ("IBAN DE89370400440532013000.", ("iban", "DE89370400440532013000")),
    ("SSN 536-22-1234 on the form", ("us_ssn", "536-22-1234")),
    ("NI number QQ 12 34 56 C? no: AB 12 34 56 C", ("uk_nino", "AB 12 34 56 C")),
    ("my nino is ab123456c, lower case", ("uk_nino", "ab123456c")),
    ("mi DNI es 54362315K", ("es_dni", "54362315K")),
    ("numéro de sécurité sociale 2 95 10 99 126 111 93", ("fr_nir", "2 95 10 99 126 111 93")),
    ("mijn BSN is 111222333", ("nl_bsn", "111222333")),
    ("Aadhaar 2345 6789 0124", ("in_aadhaar", "2345 6789 0124")),
    ("CPF 390.533.447-05", ("br_cpf", "390.533.447-05")),
    ("O meu CPF é 390.533.447-05.", ("br_cpf", "390.533.447-05")),  # a full stop after it
])
def test_each_entity_is_found_with_its_span(text: str, expected: tuple[str, str]) -> None:
    assert expected in _found(text)


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112",  # fails Luhn
    "order 1234 5678 9012 3456 shipped",  # fails Luhn
    "0000 0000 0000 0000",  # passes Luhn, but no card is all zeros
    "IBAN GB82 WEST 1234 5698 7654 33",  # mod-97 fails
    "SSN 000-12-3456 is never issued",  # area 000
    "SSN 666-12-3456 is never issued",  # area 666
    "SSN 078-05-1120 was printed in a wallet advert",
    "NI QQ 12 34 56 C",  # QQ is a placeholder prefix, never issued
    "DNI 54362315Z",  # wrong check letter
    "CPF 390.533.447-06",  # wrong check digits
    "the ticket 2023-01-15 build 4.2.1",
    "The build finished at 2023-01-15 14:32:10.",  # 202-301-1514 would be a valid number
    "at 12:30 555 0142 people",
    "timestamp 1234567890 in the log",  # no US area code starts with 1
    "user@localhost is not an address on the internet",
    # Digit runs inside identifiers: each run passes its number's check.
    "recall resp_5acf50763efa3050986593442e3a please",  # 3050986593442: Luhn, Diners
    "digest 9f4111111111111111aa",  # 4111111111111111: Luhn, Visa
    "key k536-22-1234x",
    "Aadhaar A2345 6789 0124",
    "BSN: v111222333",
    "ref x390.533.447-05",
])
def test_look_alikes_are_not_pii(text: str) -> None:
    assert _found(text) == [], _found(text)


def test_a_bare_nine_digit_number_counts_only_with_its_name_nearby() -> None:
    # 111222333 passes the BSN eleven-test, as one in eleven 9-digit numbers do.
    assert _found("tracking number 111222333") == []
    assert ("nl_bsn", "111222333") in _found("BSN: 111222333")


def test_numbers_that_pass_a_weak_check_need_their_name() -> None:
    # One 12-digit number in ten passes Aadhaar's Verhoeff check, one 11-digit in a hundred
    # a CPF's two check digits.
    assert _found("order 2345 6789 0124 shipped") == []
    assert _found("order 39053344705 shipped") == []
    assert ("br_cpf", "39053344705") in _found("CPF 39053344705")


def test_spans_are_code_point_offsets() -> None:
    text = "Größe: ada@example.org"
    [(kind, found)] = _found(text)
    assert (kind, found) == ("email", "ada@example.org")


def test_phone_numbers_without_a_country_code_use_the_region() -> None:
    uk = pii.finder(["phone"], "GB")
    assert [h.detector for h in uk("ring 020 7946 0958")] == ["pii.phone"]
    assert list(pii.finder(["phone"], "US")("ring 020 7946 0958")) == []
