"""Moderation by the Guardian's policy (OPENAI_COMPAT: OpenAI's moderations endpoint).

The model is the policy itself (`lukhas-guardian-1`, the name in configs/guardian); a text
is scanned as a request's text would be, every input rule applied. A category is flagged
when a rule of it fired (whatever the rule's action, `allow` aside); its score is the
highest any detector gave it, fired or not. A flagged sub-category flags its parent
(`violence/graphic` is violence), and the parent's score is at least the sub-category's.
A list of strings gives one result per string; a list of parts is one input, its texts
joined. Images cannot be judged by these detectors: an image part is a 400, not a pass.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.api.moderations.protocol import ImagePart, ModerationRequest, TextPart
from app.errors import InvalidRequest, ServiceUnavailable
from app.guardian.decision import CATEGORIES, Decision
from app.guardian.engine import DetectorError, Guardian
from app.ids import new_id

MAX_INPUTS = 256
MAX_CHARS = 100_000  # per input


def _texts(raw: str | list[str] | list[TextPart | ImagePart]) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if not raw:
        raise InvalidRequest("'input' must not be empty.", param="input", code="empty_input")
    if all(isinstance(item, str) for item in raw):
        return [item for item in raw if isinstance(item, str)]
    texts = []
    for i, part in enumerate(raw):
        if isinstance(part, ImagePart):
            raise InvalidRequest(
                f"input[{i}]: the model does not moderate images; send text parts only.",
                param=f"input[{i}]", code="unsupported_input_type")
        if isinstance(part, TextPart):
            texts.append(part.text)
    return ["\n".join(texts)]


def moderation_result(decision: Decision) -> dict[str, Any]:
    """One entry of `results`: the decision's categories, flagged and scored."""
    fired: set[str] = {r.category for r in decision.reasons if r.action != "allow"}
    scores: dict[str, float] = {c: round(float(decision.scores.get(c, 0.0)), 6)
                                for c in CATEGORIES}
    for category in CATEGORIES:
        parent = category.split("/")[0]
        if parent != category:
            scores[parent] = max(scores[parent], scores[category])
            if category in fired:
                fired.add(parent)
    return {
        "flagged": bool(fired),
        "categories": {c: c in fired for c in CATEGORIES},
        "category_scores": scores,
        "category_applied_input_types": {c: ["text"] for c in CATEGORIES},
    }


class ModerationsService:
    def __init__(self, guardian: Guardian) -> None:
        self._guardian = guardian

    async def create(self, req: ModerationRequest) -> dict[str, Any]:
        """One result per input, in order."""
        policy = self._guardian.policy  # one policy for the whole request
        if req.model is not None and req.model != policy.name:
            raise InvalidRequest(
                f"The moderation model '{req.model}' does not exist; this service's is "
                f"'{policy.name}'.", param="model", code="model_not_found")
        texts = _texts(req.input)
        if len(texts) > MAX_INPUTS:
            raise InvalidRequest(f"'input' may hold at most {MAX_INPUTS} items.", param="input")
        for i, text in enumerate(texts):
            if len(text) > MAX_CHARS:
                raise InvalidRequest(f"input[{i}] is longer than {MAX_CHARS} characters.",
                                     param="input" if isinstance(req.input, str)
                                     else f"input[{i}]", code="string_above_max_length")
        try:
            # Together, so the embedding model sees the texts in one batch.
            decisions = await asyncio.gather(
                *(self._guardian.scan(t, direction="input", policy=policy) for t in texts))
        except DetectorError as exc:
            raise ServiceUnavailable(f"The moderation could not be completed: detector "
                                     f"{exc.detector} of rule {exc.rule} failed.") from exc
        return {"id": new_id("modr-"), "model": policy.name,
                "results": [moderation_result(d) for d in decisions]}
