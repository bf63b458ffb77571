"""Why a request has no route, as the typed errors `app/errors.py` renders.

A tier that may not use a model gets the same 404 `model_not_found` as a model that does not
exist, as OpenAI answers for models an account cannot access: a 403 would tell a low tier
which models exist. The reason stays on the error (`reason`) for logs and the preview.
"""

from __future__ import annotations

import math

from app.errors import NotFound, ServiceUnavailable


class ModelNotFound(NotFound):
    default_code = "model_not_found"
    reason = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(f"The model '{model}' does not exist or you do not have access to it.",
                         param="model")
        self.model = model


class TierNotAllowed(ModelNotFound):
    reason = "tier_not_allowed"

    def __init__(self, model: str, tier: str) -> None:
        super().__init__(model)
        self.tier = tier


class AllCoolingDown(ServiceUnavailable):
    """Every deployment that could serve the model is out after failures."""

    default_code = "model_unavailable"
    reason = "all_cooling_down"

    def __init__(self, model: str, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(f"Every upstream serving '{model}' is failing; retry in {seconds} s.",
                         param="model", headers={"retry-after": str(seconds)})
        self.model = model
        self.retry_after_s = retry_after_s


RouteError = ModelNotFound | AllCoolingDown
