"""Wire models of the probes (`/healthz`, `/readyz`)."""

from __future__ import annotations

from typing import Literal

from app.api.protocol import OpenAIModel
from app.errors import ErrorObject


class Alive(OpenAIModel):
    status: Literal["ok"]


class Ready(OpenAIModel):
    status: Literal["ready"]
    checks: dict[str, str]


class NotReady(OpenAIModel):
    """What failed, by check, and the error envelope clients parse."""

    status: Literal["not_ready"]
    checks: dict[str, str]
    error: ErrorObject


class Broken(OpenAIModel):
    """Why the process cannot serve at all (a restart is what mends it)."""

    status: Literal["broken"]
    checks: dict[str, str]
    error: ErrorObject
