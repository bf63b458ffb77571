"""Wire models of the probes (`/healthz`, `/readyz`)."""

from __future__ import annotations

from typing import Literal

from app.api.protocol import OpenAIModel
from app.errors import ErrorObject


class Alive(OpenAIModel):
    status: Literal["ok"]


class GuardianStatus(OpenAIModel):
    """The Guardian in this lane: its mode, and the kill switch as this worker last read it
    (engaged, the service refuses all but probes; a probe still answers, so administrators
    can reach the service to release it)."""

    lane: str
    mode: Literal["advisory", "enforced", "strict"]
    kill_switch: Literal["engaged", "released", "unknown"]


class Ready(OpenAIModel):
    status: Literal["ready"]
    checks: dict[str, str]
    guardian: GuardianStatus


class NotReady(OpenAIModel):
    """What failed, by check, and the error envelope clients parse."""

    status: Literal["not_ready"]
    checks: dict[str, str]
    guardian: GuardianStatus
    error: ErrorObject


class Broken(OpenAIModel):
    """Why the process cannot serve at all (a restart is what mends it)."""

    status: Literal["broken"]
    checks: dict[str, str]
    error: ErrorObject
