"""ΛiD tokens: each check and its own error code."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from app.errors import AuthenticationFailed, ServiceUnavailable
from app.identity.alias import new_alias
from app.identity.keyring import KeyRing
from app.identity.tiers import load_tiers
from app.identity.tokens import LidTokens
from app.kv.memory import MemoryStore
from app.kv.redis_store import RedisStore

K1 = b"k1-secret-0123456789abcdef0123456789abcdef"
K2 = b"k2-secret-fedcba9876543210fedcba9876543210"


def tokens(keys: dict[str, bytes] | None = None, active: str = "k1",
           leeway: float = 0.0) -> LidTokens:
    return LidTokens(KeyRing(keys or {"k1": K1}, active), load_tiers(), MemoryStore(), leeway)


def forge(claims: dict[str, Any], key: bytes = K1, kid: str = "k1") -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})


def good_claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": "lukhas", "sub": str(new_alias("LUKHAS", "eu")), "tier": "T2",
              "scope": "chat models.read", "iat": now, "nbf": now, "exp": now + 60,
              "jti": "0" * 32}
    claims.update(over)
    return claims


async def code_of(t: LidTokens, token: str) -> str | None:
    with pytest.raises(AuthenticationFailed) as err:
        await t.validate(token)
    return err.value.code


async def test_issue_then_validate() -> None:
    t = tokens()
    issued = t.issue(new_alias("LUKHAS", "eu"), "T2", scopes=["chat", "models.read"])
    who = await t.validate(issued.token)
    assert who.subject == issued.alias and who.tier == "T2" and who.kind == "lid"
    assert who.scopes == {"chat", "models.read"}
    assert who.token_id == issued.jti and who.expires_at == issued.expires_at
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "HS256", "kid": "k1", "typ": "JWT"}


def test_scopes_beyond_the_tier_are_refused() -> None:
    with pytest.raises(ValueError, match="does not grant"):
        tokens().issue(new_alias("R", "Z"), "T1", scopes=["admin"])


@pytest.mark.parametrize("token", ["a.b.c", "eyJ.eyJ.x", "...", "not.a.jwt"])
async def test_malformed(token: str) -> None:
    assert await code_of(tokens(), token) == "token_malformed"


async def test_missing_claims_or_wrong_issuer_are_malformed() -> None:
    claims = good_claims()
    del claims["jti"]
    assert await code_of(tokens(), forge(claims)) == "token_malformed"
    assert await code_of(tokens(), forge(good_claims(iss="other"))) == "token_malformed"
    assert await code_of(tokens(), forge(good_claims(tier="T9"))) == "token_malformed"
    assert await code_of(tokens(), forge(good_claims(sub="alice"))) == "token_malformed"


async def test_crc_is_checked_before_the_signature() -> None:
    alias = str(new_alias("LUKHAS", "eu"))
    bad_crc = alias[:-8] + ("00000000" if not alias.endswith("00000000") else "11111111")
    # Wrong key too: were the signature checked first, this would be token_bad_signature.
    token = forge(good_claims(sub=bad_crc), key=b"x" * 40)
    assert await code_of(tokens(), token) == "token_crc_mismatch"


async def test_bad_signature_and_unknown_kid() -> None:
    assert await code_of(tokens(), forge(good_claims(), key=K2)) == "token_bad_signature"
    assert await code_of(tokens(), forge(good_claims(), kid="k9")) == "unknown_kid"
    tampered = forge(good_claims())
    head, _, sig = tampered.split(".")
    other = forge(good_claims(tier="T3")).split(".")[1]
    assert await code_of(tokens(), f"{head}.{other}.{sig}") == "token_bad_signature"


async def test_time_window_with_leeway() -> None:
    now = int(time.time())
    expired = forge(good_claims(iat=now - 100, nbf=now - 100, exp=now - 10))
    future = forge(good_claims(nbf=now + 100, exp=now + 200))
    assert await code_of(tokens(), expired) == "token_expired"
    assert await code_of(tokens(), future) == "token_not_yet_valid"
    lenient = tokens(leeway=30)
    assert (await lenient.validate(expired)).tier == "T2", "10 s late is within 30 s of leeway"


async def test_rotation_and_retirement() -> None:
    old = tokens({"k1": K1}, "k1").issue(new_alias("R", "Z"), "T1").token
    rotated = tokens({"k1": K1, "k2": K2}, "k2")
    new = rotated.issue(new_alias("R", "Z"), "T1").token
    assert jwt.get_unverified_header(new)["kid"] == "k2"
    assert (await rotated.validate(old)).tier == "T1", "old keys validate until retired"
    retired = tokens({"k2": K2}, "k2")
    assert await code_of(retired, old) == "unknown_kid"
    assert (await retired.validate(new)).tier == "T1"


async def test_revocation_and_single_use() -> None:
    t = tokens()
    issued = t.issue(new_alias("R", "Z"), "T2")
    await t.validate(issued.token)
    await t.revoke(issued.jti, issued.expires_at)
    assert await code_of(t, issued.token) == "token_revoked"
    once = t.issue(new_alias("R", "Z"), "T2", once=True)
    await t.validate(once.token)
    assert await code_of(t, once.token) == "token_replayed"


async def test_tier_scopes_bound_the_token_scopes() -> None:
    forged_scope = forge(good_claims(tier="T1", scope="admin models.read"))
    who = await tokens().validate(forged_scope)
    assert who.scopes == {"models.read"}, "a scope the tier does not grant never applies"


async def test_store_down_fails_closed() -> None:
    t = LidTokens(KeyRing({"k1": K1}, "k1"), load_tiers(), RedisStore("redis://127.0.0.1:1/0"))
    issued = t.issue(new_alias("R", "Z"), "T2")
    with pytest.raises(ServiceUnavailable) as err:
        await t.validate(issued.token)
    assert err.value.status_code == 503
    assert err.value.headers["x-should-retry"] == "true"
