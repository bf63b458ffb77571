"""Personal data: found by shape, then confirmed by the number's own rules.

A run of digits is only a card number when its Luhn check passes and its prefix belongs to
a card network; an IBAN when its country's length and the mod-97 check agree; a national
identifier when its check digits (or, for the US SSN and UK NINO, which have none, the
issuing rules) allow it. Phone numbers are parsed by `phonenumbers` (Google's metadata),
which knows each country's valid ranges. The checks come from `python-stdnum`. A bare run
of 9 to 12 digits that happens to pass a check (1 in 11 do for a Dutch BSN) counts only
with the identifier's name nearby; without it the score stays below the usual threshold.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterator, Sequence

import phonenumbers
import regex
from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.es import dni
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.nl import bsn
from stdnum.us import ssn

from app.guardian.detectors import Hit
from app.guardian.detectors.patterns import matches

_EMAIL = regex.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")
_PHONE = regex.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    r"(?![\w-]|[.:]\d)")
_ISO_DATE = regex.compile(r"\d{4}-\d{2}-\d{2}")
# A number is one only where it stands apart: digits inside a word or an identifier
# (`resp_5acf50763efa3050986593442e3a`, a hex digest) are not a card or a national number,
# even when a run of them passes the check, as Presidio bounds its patterns with \b.
_CARD = regex.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_IBAN = regex.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_SSN = regex.compile(r"(?<![\w-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-])")
_NINO = regex.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])", regex.IGNORECASE)
_NINO_SHAPE = re.compile(r"\d\d ?\d\d ?\d\d ?[A-Da-d]")  # in every NINO
_DNI = regex.compile(r"(?<![A-Za-z0-9])\d{8}-?[A-Z](?![A-Za-z0-9])", regex.IGNORECASE)
_NIR = regex.compile(r"(?<!\w)[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?!\w)")
_BSN = regex.compile(r"(?<![\w.-])\d{9}(?![\w-]|\.\d)")
_AADHAAR = regex.compile(r"(?<![\w-])[2-9]\d{3} ?\d{4} ?\d{4}(?![\w-])")
_CPF = regex.compile(r"(?<![\w.-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\w-]|\.\d)")

# Card networks by prefix (IIN ranges): Visa, Mastercard, Amex, Discover, JCB, Diners,
# UnionPay, Maestro.
_NETWORK = regex.compile(
    r"^(?:4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9])|35(?:2[89]|[3-8])"
    r"|3(?:0[0-5]|[689])|62|5[06-8]|6[37])")


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def _near(text: str, start: int, words: Sequence[str]) -> bool:
    """One of `words` in the 40 characters before `start`."""
    before = text[max(0, start - 40) : start].lower()
    return any(w in before for w in words)


def _scan(pattern: regex.Pattern[str], text: str, name: str,
          score: Callable[[str, int], float]) -> Iterator[Hit]:
    for m in matches(pattern, text):
        s = score(m.group(), m.start())
        if s > 0:
            yield Hit(m.start(), m.end(), s, f"pii.{name}")


def emails(text: str) -> Iterator[Hit]:
    if "@" in text:
        yield from _scan(_EMAIL, text, "email", lambda _s, _i: 1.0)


def phones(text: str, region: str) -> Iterator[Hit]:
    # Candidates by a loose shape, each then parsed and checked against libphonenumber's
    # metadata for its country: as exact as its own matcher, and some ten times faster.
    for m in matches(_PHONE, text):
        if len(_digits(m.group())) < 7 or _ISO_DATE.search(m.group()):
            continue  # no phone number is that short; a date (and time) is not one
        try:
            number = phonenumbers.parse(m.group(), region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            yield Hit(m.start(), m.end(), 0.9, "pii.phone")


def cards(text: str) -> Iterator[Hit]:
    def score(s: str, _: int) -> float:
        digits = _digits(s)
        if not luhn.is_valid(digits) or len(set(digits)) < 2:
            return 0.0  # 0000 0000 0000 0000 passes Luhn
        return 1.0 if _NETWORK.match(digits) else 0.4
    yield from _scan(_CARD, text, "payment_card", score)


def ibans(text: str) -> Iterator[Hit]:
    yield from _scan(_IBAN, text, "iban", lambda s, _: 1.0 if iban.is_valid(s) else 0.0)


def us_ssns(text: str) -> Iterator[Hit]:
    # No check digit: the issuing rules (no 000, 666 or 9xx area, no 00 group, no 0000
    # serial, not one of the numbers published in advertising) are all there is.
    def score(s: str, at: int) -> float:
        if not ssn.is_valid(s.replace(" ", "-")):
            return 0.0
        return 1.0 if "-" in s or _near(text, at, ("ssn", "social security")) else 0.4
    yield from _scan(_SSN, text, "us_ssn", score)


def uk_ninos(text: str) -> Iterator[Hit]:
    # No check digit either: the prefix letters HMRC never issues are excluded by the pattern.
    # That pattern ignores case and looks around it at every position (~9 µs over an
    # answer); its digits and final letter, which every match holds, are found in ~1 µs by
    # the standard engine, and most texts with six digits (sums, dates) lack them.
    if _NINO_SHAPE.search(text):
        yield from _scan(_NINO, text, "uk_nino", lambda _s, _i: 0.9)


def _checked(validate: Callable[[str], bool], words: Sequence[str], bare: float,
             named: float = 1.0) -> Callable[[str], Callable[[str, int], float]]:
    def for_text(text: str) -> Callable[[str, int], float]:
        def score(s: str, at: int) -> float:
            if not validate(s):
                return 0.0
            return named if _near(text, at, words) else bare
        return score
    return for_text


_ES_DNI = _checked(dni.is_valid, ("dni", "nif", "documento"), 0.9)
_FR_NIR = _checked(nir.is_valid, ("nir", "sécurité sociale", "securite sociale", "insee"), 0.9)
_NL_BSN = _checked(bsn.is_valid, ("bsn", "burgerservicenummer", "sofinummer"), 0.3)
# One 12-digit number in ten passes the Verhoeff check: alone it is not an Aadhaar number.
_IN_AADHAAR = _checked(aadhaar.is_valid, ("aadhaar", "uidai", "uid"), 0.4)
_BR_CPF_CHECK = _checked(cpf.is_valid, ("cpf",), 0.4)


def _br_cpf(text: str) -> Callable[[str, int], float]:
    # Written as CPFs are (123.456.789-09) it is one; bare digits only with its name nearby.
    checked = _BR_CPF_CHECK(text)
    return lambda s, at: max(checked(s, at), 0.9 if "-" in s and checked(s, at) else 0.0)


def national_ids(entity: str, text: str) -> Iterator[Hit]:
    pattern, score = {
        "es_dni": (_DNI, _ES_DNI), "fr_nir": (_NIR, _FR_NIR), "nl_bsn": (_BSN, _NL_BSN),
        "in_aadhaar": (_AADHAAR, _IN_AADHAAR), "br_cpf": (_CPF, _br_cpf),
    }[entity]
    yield from _scan(pattern, text, entity, score(text))


_ASCII_DIGITS = b"0123456789"
# The fewest digits each entity holds: a text with fewer is not searched for it.
_MIN_DIGITS = {"phone": 7, "payment_card": 13, "iban": 12, "us_ssn": 9, "uk_nino": 6,
               "es_dni": 8, "fr_nir": 13, "nl_bsn": 9, "in_aadhaar": 12, "br_cpf": 11}


@functools.lru_cache(maxsize=1)  # the policy's screen asks it of a text for each PII rule
def _digit_count(text: str) -> int:
    """How many ASCII digits `text` holds (bytes.translate deletes them ten times faster
    than str.translate)."""
    data = text.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, _ASCII_DIGITS))


def screen_pattern(entities: Sequence[str]) -> str:
    """What every hit of `entities` holds, for the policy's screen: an `@` or a digit."""
    needs = (["@"] if "email" in entities else []) + (
        ["[0-9]"] if any(e != "email" for e in entities) else [])
    return "|".join(needs)


def _fewest(entities: Sequence[str]) -> int:
    """The fewest digits any entity but an e-mail address holds: most texts that hold a
    digit (a count, a year) hold fewer, and nothing is searched for them."""
    return min((_MIN_DIGITS[e] for e in entities if e != "email"), default=sys.maxsize)


def possible(entities: Sequence[str]) -> Callable[[str], bool]:
    """Whether an entity of `entities` may be in a text at all: it holds as many digits as
    the fewest any of them holds, or an `@` where e-mail addresses are among them (a test
    the policy's screen runs before it counts the rule a candidate; `finder` runs it too)."""
    fewest, emails_too = _fewest(entities), "email" in entities

    def test(text: str) -> bool:
        return (emails_too and "@" in text) or _digit_count(text) >= fewest
    return test


def finder(entities: Sequence[str], phone_region: str) -> Callable[[str], Iterator[Hit]]:
    """A function finding every entity of `entities` in a text."""
    may_hold = possible(entities)

    def search(text: str, digits: int) -> Iterator[Hit]:
        for entity in entities:
            if entity == "email":
                yield from emails(text)
            elif digits < _MIN_DIGITS[entity]:
                continue
            elif entity == "phone":
                yield from phones(text, phone_region)
            elif entity == "payment_card":
                yield from cards(text)
            elif entity == "iban":
                yield from ibans(text)
            elif entity == "us_ssn":
                yield from us_ssns(text)
            elif entity == "uk_nino":
                yield from uk_ninos(text)
            else:
                yield from national_ids(entity, text)

    def find(text: str) -> Iterator[Hit]:
        if not may_hold(text):
            return iter(())
        return search(text, _digit_count(text))  # counted once: `_digit_count` keeps it
    return find
