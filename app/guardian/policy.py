"""The Guardian's policy files, `configs/guardian/*.yaml`: one schema, validated whole.

Every file holds `rules:` (and at most one file holds `policy:`, the name the policy answers
to as a moderation model). Rules from all files form one policy; a rule name is unique
across them. A rule names where it applies (`direction`, `kinds`), what it looks for
(`detector` and its settings), what it means (`category`) and what follows (`action`).
Patterns are compiled here, under the safety checks of `detectors.patterns`, so a bad or
catastrophic pattern fails the load, never a request.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.guardian.decision import Action, Category, Direction, Kind

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Rule(_Strict):
    name: str = Field(pattern=_NAME)
    description: str = ""
    direction: tuple[Direction, ...] = Field(min_length=1)
    # Which texts of a request (outputs are all "text"); every kind when left out.
    kinds: tuple[Kind, ...] | None = Field(default=None, min_length=1)
    category: Category
    action: Action
    replacement: str | None = None  # what a redacted span becomes; "[<category>]" by default


class PatternRule(_Rule):
    detector: Literal["pattern"]
    patterns: tuple[str, ...] = Field(min_length=1, max_length=200)
    ignore_case: bool = True
    score: float = Field(default=1.0, gt=0, le=1)


PiiEntity = Literal["email", "phone", "payment_card", "iban", "us_ssn", "uk_nino",
                    "es_dni", "fr_nir", "nl_bsn", "in_aadhaar", "br_cpf"]
SecretEntity = Literal["api_key", "bearer_token", "private_key", "aws_access_key", "jwt",
                       "github_token", "slack_token", "password_assignment"]


class PiiRule(_Rule):
    detector: Literal["pii"]
    entities: tuple[PiiEntity, ...] = Field(min_length=1)
    # Region for phone numbers written without a country code (an ISO 3166 code).
    phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")


class SecretsRule(_Rule):
    detector: Literal["secrets"]
    entities: tuple[SecretEntity, ...] = Field(min_length=1)


class InjectionRule(_Rule):
    detector: Literal["injection"]
    threshold: float = Field(default=0.5, gt=0, le=1)


class SemanticRule(_Rule):
    detector: Literal["semantic"]
    examples: tuple[str, ...] = Field(min_length=1, max_length=500)
    threshold: float = Field(gt=0, le=1)  # cosine similarity to the nearest example
    model: str | None = None  # an embedding model served here; the policy's default if None

    @field_validator("examples")
    @classmethod
    def _not_blank(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not e.strip() for e in v):
            raise ValueError("an example must not be blank")
        return v


RuleSpec = Annotated[PatternRule | PiiRule | SecretsRule | InjectionRule | SemanticRule,
                     Field(discriminator="detector")]


class PolicyHeader(_Strict):
    name: str = Field(default="lukhas-guardian-1", pattern=_NAME)
    embedding_model: str = "all-MiniLM-L6-v2"  # for semantic rules that name none


class PolicyFile(_Strict):
    policy: PolicyHeader | None = None
    rules: tuple[RuleSpec, ...] = ()
