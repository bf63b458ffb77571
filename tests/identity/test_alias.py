"""ΛiD aliases: format and CRC."""

from __future__ import annotations

import re
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.identity.alias import AliasError, new_alias, parse_alias

_PART = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)


@given(realm=_PART, zone=_PART)
def test_new_aliases_round_trip(realm: str, zone: str) -> None:
    alias = new_alias(realm, zone)
    text = str(alias)
    assert re.fullmatch(r"lid#[A-Za-z0-9_-]{1,32}/[A-Za-z0-9_-]{1,32}/v1\.[0-9a-f]{32}-[0-9a-f]{8}",
                        text)
    assert parse_alias(text) == alias
    body, crc = text.rsplit("-", 1)
    assert int(crc, 16) == zlib.crc32(body.encode())


def test_a_changed_character_fails_the_crc() -> None:
    text = str(new_alias("LUKHAS", "eu"))
    i = text.index(".") + 1
    flipped = text[:i] + ("0" if text[i] != "0" else "1") + text[i + 1:]
    with pytest.raises(AliasError) as err:
        parse_alias(flipped)
    assert err.value.code == "token_crc_mismatch"


@pytest.mark.parametrize("text", [
    "", "lid#", "lid#A/B/v1.abc-00000000", "lid#A/B/v1." + "0" * 32,
    "lid#A!/B/v1." + "0" * 32 + "-00000000", "lid#" + "A" * 33 + "/B/v1." + "0" * 32 + "-0",
    "LID#A/B/v1." + "0" * 32 + "-00000000", "lid#A/B/v1." + "F" * 32 + "-00000000",
])
def test_malformed_aliases(text: str) -> None:
    with pytest.raises(AliasError) as err:
        parse_alias(text)
    assert err.value.code == "token_malformed"


def test_bad_realm_is_refused_when_minting() -> None:
    with pytest.raises(ValueError, match="realm"):
        new_alias("no spaces", "eu")
