"""Secrets: keys and tokens by shape, kept only when the random part looks random."""

from __future__ import annotations

import pytest

from app.guardian.detectors import secrets

ALL = ["api_key", "bearer_token", "private_key", "aws_access_key", "jwt", "github_token",
       "slack_token", "password_assignment"]
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq9x+Zr\nQk3c=\n"
       "-----END RSA PRIVATE KEY-----")


def _found(text: str) -> list[tuple[str, str]]:
    return [(h.detector.removeprefix("secrets."), text[h.start:h.end])
            for h in secrets.finder(ALL)(text)]


JWT = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")


@pytest.mark.parametrize(("template", "kind", "secret"), [
    ("export OPENAI_API_KEY={}", "api_key", "sk-proj-Q7x9Lm2Vb8Rt4Kp6Zw1Nc3"),
    ("stripe {}", "api_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("Authorization: Bearer {}", "bearer_token", "eyJhbGciOi.J9x8Yz7Qw6Lk5"),
    ("here:\n{}\nthanks", "private_key", PEM),
    ("{} cut off", "private_key", "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("aws_access_key_id = {}", "aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
    ("token {}", "jwt", JWT),
    ("GH {} done", "github_token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("slack {}", "slack_token", "xoxb-2048-4096-abcdefABCDEF1234"),
    ('db password: "{}"', "password_assignment", "Tr0ub4dor&3x"),
    ("db_password = '{}'", "password_assignment", "Tr0ub4dor&3x"),
])
def test_each_secret_is_found_as_its_own_span(template: str, kind: str, secret: str) -> None:
    assert (kind, secret) in _found(template.format(secret))


@pytest.mark.parametrize("text", [
    "pip install sk-learn-toolkit-examples",  # a key's shape, not a key's randomness
    "the bearer of this letter is authorised",
    "Authorization: Bearer <your-token-here-please-replace>",
    "password: ********",
    "password = <your password>",
    "set password=${DB_PASSWORD} in the env file",
    "a public key: -----BEGIN PUBLIC KEY-----",
    "the header eyJ is the start of base64 JSON",
])
def test_look_alikes_are_not_secrets(text: str) -> None:
    assert _found(text) == []
