"""ΛiD token shape: strictly typed claims, a closed JOSE header, canonical encoding.

Every token here is signed with the right key, so a refusal can only come from the shape.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from app.identity.alias import new_alias
from app.identity.claims import MAX_TIME
from app.identity.keyring import KeyRingError, load_keyring
from app.identity.tiers import load_tiers
from app.identity.tokens import LidTokens
from app.kv.memory import MemoryStore
from tests.identity.test_tokens import K1, code_of, forge, good_claims, tokens
from tests.utils.jose import b64, hmac_signed

NOW = int(time.time())


def hand_signed(header: dict[str, Any] | str, payload: dict[str, Any] | str,
                key: bytes = K1) -> str:
    """A token signed with `key` over exactly the JSON given (PyJWT would normalise it)."""
    return hmac_signed(header, payload, key)


HEADER = {"alg": "HS256", "kid": "k1", "typ": "JWT"}


async def test_a_hand_signed_good_token_is_accepted() -> None:
    """The helper itself makes valid tokens, so the refusals below are about the shape."""
    assert (await tokens().validate(hand_signed(HEADER, good_claims()))).tier == "T2"


BAD_CLAIMS: list[tuple[str, Any]] = [
    ("exp", True), ("exp", float(NOW + 60)), ("exp", str(NOW + 60)), ("exp", None),
    ("exp", -1), ("exp", MAX_TIME + 1), ("exp", 2**63), ("exp", [NOW + 60]),
    ("nbf", False), ("nbf", float(NOW)), ("nbf", str(NOW)), ("nbf", -5),
    ("iat", True), ("iat", 1.5), ("iat", "now"), ("iat", {"t": NOW}),
    ("once", 1), ("once", "true"), ("once", None), ("once", [True]),
    ("sub", 5), ("sub", ["lid#R/Z/v1." + "0" * 32]), ("sub", None),
    ("tier", ["T2"]), ("tier", {"T2": 1}), ("tier", 2), ("tier", ""),
    ("scope", ["chat"]), ("scope", None), ("scope", "chat\x00admin"), ("scope", "x" * 1025),
    ("jti", 7), ("jti", ""), ("jti", "a" * 65), ("jti", "ab\x00cd"), ("jti", "ab\ncd"),
    ("iss", ["lukhas"]), ("iss", "lukhas\x00"), ("iss", None),
    ("aud", "lukhas"), ("admin", True), ("scp", "admin"),
]


# Ids by position: some values are times, and every worker of a parallel run must collect the
# same ids.
@pytest.mark.parametrize("name,value", BAD_CLAIMS,
                         ids=[f"{name}-{i}" for i, (name, _) in enumerate(BAD_CLAIMS)])
async def test_claims_are_strictly_typed(name: str, value: Any) -> None:
    claims = good_claims(**{name: value})
    assert await code_of(tokens(), hand_signed(HEADER, claims)) == "token_malformed"


@pytest.mark.parametrize("raw", ['"\\ud800"', '"ab\\udfffcd"', '"\\u0000"'])
async def test_lone_surrogates_and_nul_in_strings_are_malformed(raw: str) -> None:
    for name in ("jti", "scope", "sub", "tier"):
        payload = json.dumps(good_claims(**{name: "PLACEHOLDER"}))
        token = hand_signed(HEADER, payload.replace('"PLACEHOLDER"', raw))
        assert await code_of(tokens(), token) == "token_malformed", name


async def test_times_must_be_in_order() -> None:
    assert await code_of(tokens(), forge(good_claims(iat=NOW + 120, exp=NOW + 60))) \
        == "token_malformed"
    assert await code_of(tokens(), forge(good_claims(nbf=NOW + 120, exp=NOW + 60))) \
        == "token_malformed"
    assert (await tokens().validate(forge(good_claims(exp=NOW + 3600 * 24 * 365)))).tier == "T2"


async def test_once_true_and_false_are_both_accepted() -> None:
    t = tokens()
    assert (await t.validate(forge(good_claims(once=False, jti="a" * 32)))).tier == "T2"
    await t.validate(forge(good_claims(once=False, jti="a" * 32)))  # not single use
    assert (await t.validate(forge(good_claims(once=True, jti="b" * 32)))).tier == "T2"
    assert await code_of(t, forge(good_claims(once=True, jti="b" * 32))) == "token_replayed"


async def test_a_subject_with_a_trailing_newline_is_not_the_alias() -> None:
    claims = good_claims()
    claims["sub"] += "\n"
    assert await code_of(tokens(), forge(claims)) == "token_malformed"


@pytest.mark.parametrize("header", [
    {"alg": "HS384", "kid": "k1"}, {"alg": "HS512", "kid": "k1"}, {"alg": "none", "kid": "k1"},
    {"alg": "RS256", "kid": "k1"}, {"alg": "hs256", "kid": "k1"}, {"alg": ["HS256"], "kid": "k1"},
    {"kid": "k1"}, {"alg": "HS256"}, {"alg": "HS256", "kid": 1}, {"alg": "HS256", "kid": ""},
    {"alg": "HS256", "kid": ["k1"]}, {"alg": "HS256", "kid": "../../etc/passwd"},
    {"alg": "HS256", "kid": "/etc/passwd"}, {"alg": "HS256", "kid": "k1\x00"},
    {"alg": "HS256", "kid": ".."}, {"alg": "HS256", "kid": "k" * 65},
    {"alg": "HS256", "kid": "k1/../k1"}, {"alg": "HS256", "kid": "C:\\keys\\k1"},
    {"alg": "HS256", "kid": "k1", "typ": "JWE"},
    {"alg": "HS256", "kid": "k1", "jku": "https://evil.example/jwks.json"},
    {"alg": "HS256", "kid": "k1", "x5u": "https://evil.example/cert.pem"},
    {"alg": "HS256", "kid": "k1", "jwk": {"kty": "oct", "k": b64(b"attacker-key" * 4)}},
    {"alg": "HS256", "kid": "k1", "x5c": ["MIIB"]},
    {"alg": "HS256", "kid": "k1", "crit": ["exp"]},
    {"alg": "HS256", "kid": "k1", "b64": False, "crit": ["b64"]},
    {"alg": "HS256", "kid": "k1", "cty": "JWT"},
])
async def test_the_header_is_closed(header: dict[str, Any]) -> None:
    # Signed with the real key: only the header can be what is refused.
    assert await code_of(tokens(), hand_signed(header, good_claims())) == "token_malformed"


async def test_a_jwk_in_the_header_is_not_used_to_verify() -> None:
    attacker = b"attacker-key-0123456789abcdef0123456789"
    header = {"alg": "HS256", "kid": "k1", "jwk": {"kty": "oct", "k": b64(attacker)}}
    assert await code_of(tokens(), hand_signed(header, good_claims(), key=attacker)) \
        == "token_malformed"


async def test_non_canonical_encodings_are_malformed() -> None:
    token = hand_signed(HEADER, good_claims())
    head, body, sig = token.split(".")
    # The last character of a 32-byte signature carries two unused bits: flipping one gives
    # a second spelling of the same signature, which must not verify as well.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare = alphabet[alphabet.index(sig[-1]) ^ 1]
    assert base64.urlsafe_b64decode(sig[:-1] + spare + "=") == \
        base64.urlsafe_b64decode(sig + "="), "the same bytes"
    variants = [f"{head}.{body}.{sig[:-1]}{spare}", f"{head}.{body}.{sig}=",
                f"{head}=.{body}.{sig}", f"{head}.{body}.{sig[:10]}*{sig[10:]}",
                f"{head}.{body}.{sig[:10]}+{sig[11:]}", f"{head}.{body}.{sig} ",
                f"{head}.{body}.{sig[:10]}\n{sig[10:]}", f"{head}.{body}.", f".{body}.{sig}",
                f"{head}.{body}.{sig}.", f"{head}..{body}.{sig}"]
    for variant in variants:
        assert await code_of(tokens(), variant) == "token_malformed", variant


async def test_header_and_payload_must_be_json_objects() -> None:
    for header, payload in [("[]", json.dumps(good_claims())), (json.dumps(HEADER), "[]"),
                            (json.dumps(HEADER), "null"), ("null", json.dumps(good_claims())),
                            (json.dumps(HEADER), '"claims"'), (json.dumps(HEADER), "{")]:
        assert await code_of(tokens(), hand_signed(header, payload)) == "token_malformed"


@pytest.mark.parametrize("kid", ["../k1", "/abs", "k1\x00", ".hidden", "", "k" * 65, "a b"])
def test_the_key_ring_refuses_unsafe_kids(kid: str, tmp_path: Path) -> None:
    with pytest.raises(KeyRingError, match="key id"):
        load_keyring(json.dumps({kid: K1.decode()}), None, None, dev=True, data_dir=tmp_path)


async def test_the_key_ring_accepts_safe_kids(tmp_path: Path) -> None:
    ring = load_keyring(json.dumps({"2026-12.k_1": K1.decode()}), None, None, dev=True,
                        data_dir=tmp_path)
    t = LidTokens(ring, load_tiers(), MemoryStore())
    assert (await t.validate(t.issue(new_alias("R", "Z"), "T1").token)).tier == "T1"


def test_a_keys_dir_file_is_its_kid(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "k1").write_text(K1.decode())
    (keys / "bad name").write_text(K1.decode())
    with pytest.raises(KeyRingError, match="key id"):
        load_keyring(None, keys, "k1", dev=True, data_dir=tmp_path)


@pytest.mark.parametrize("over", [{"exp": "soon"}, {"jti": {"a": 1}}, {"exp": 1.5},
                                  {"once": "yes"}, {"tier": ["T3"]}])
def test_revocation_by_token_reads_the_same_strict_shape(over: dict[str, Any]) -> None:
    """A signed token whose claims are mistyped is a ValueError (a 400), not a crash."""
    with pytest.raises(ValueError, match=r"must be|ΛiD"):
        tokens().signed_claims(hand_signed(HEADER, good_claims(**over)))
    assert tokens().signed_claims(hand_signed(HEADER, good_claims()))["tier"] == "T2"
