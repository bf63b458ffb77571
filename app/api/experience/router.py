"""`POST /v1/responses/{id}/feedback` (a reward in the experience log) and
`GET /v1/admin/events` (a window on the log, for replay; admin scope)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.experience.protocol import EventList, EventsQuery, Feedback, FeedbackRequest
from app.api.listing import list_page
from app.api.protocol import CheckedRoute
from app.db.repositories import experience as repo
from app.db.repositories import responses as responses_repo
from app.db.repositories.experience import ExperienceEvent
from app.deps import StateDep, require
from app.errors import InvalidRequest, NotFound
from app.identity.base import Identity

router = APIRouter(route_class=CheckedRoute)
_EVENT_PREFIX = "evt_"


@router.post("/responses/{response_id}/feedback", tags=["responses"], response_model=None,
             responses={200: {"model": Feedback}})
async def feedback(
    response_id: str, body: FeedbackRequest,
    identity: Annotated[Identity, require("responses.write")], state: StateDep,
) -> dict[str, Any]:
    """Rate a stored response of yours: a reward event in the experience log."""
    now = time.time()
    data: dict[str, Any] = {"rating": body.rating}
    if body.comment is not None:
        data["comment"] = body.comment
    async with state.pool.acquire() as conn:
        if await responses_repo.get(conn, identity.subject, response_id) is None:
            raise NotFound(f"Response with id '{response_id}' not found.",
                           param="response_id", code="response_not_found")
        await repo.append_many(conn, [ExperienceEvent(
            "reward", identity.subject, response_id, data, state.experience.lane, now)])
    return {"object": "response.feedback", "response_id": response_id,
            "rating": body.rating, "comment": body.comment, "created_at": int(now)}


@router.get("/admin/events", tags=["admin"], response_model=None,
            responses={200: {"model": EventList}})
async def list_events(
    query: Annotated[EventsQuery, Query()], _: Annotated[Identity, require("admin")],
    state: StateDep,
) -> dict[str, Any]:
    """The experience log, oldest first, by subject, kind and time, for replay."""
    kinds = [k.strip() for k in query.kind.split(",")] if query.kind else []
    for kind in kinds:
        if kind not in repo.KINDS:
            raise InvalidRequest(f"Unknown kind '{kind}'; the kinds are "
                                 f"{', '.join(repo.KINDS)}.", param="kind",
                                 code="invalid_value")
    after = None
    if query.after is not None:
        number = query.after.removeprefix(_EVENT_PREFIX)
        if not query.after.startswith(_EVENT_PREFIX) or not number.isdigit():
            raise InvalidRequest(f"'after' must be an event id ({_EVENT_PREFIX}…).",
                                 param="after", code="invalid_value")
        after = int(number)
    async with state.pool.acquire() as conn:
        rows = await repo.window(
            conn, subject=query.subject, kinds=kinds, since=_time(query.since),
            until=_time(query.until), after=after, limit=query.limit + 1)
    page = [{"id": f"{_EVENT_PREFIX}{r['id']}", "object": "experience.event",
             "at": r["at"].timestamp(), "lane": r["lane"], "subject": r["subject"],
             "kind": r["kind"], "ref": r["ref"], "data": r["data"]}
            for r in rows[: query.limit]]
    return list_page(page, len(rows) > query.limit)


def _time(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
