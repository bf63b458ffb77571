"""What every API request's wire carries, checked once for all routes.

`CheckedRoute` is the route class of the API routers: before FastAPI parses and validates a
request, it reads the JSON body with `app.json.loads` and checks every value in it, and
every path and query parameter, against `app.json.check_value` (no NUL, no unpaired
surrogate, finite numbers, safe integers, bounded nesting). A bad value is a 400 naming
where it was (`input[0].content[1].text`, `metadata.key`), so none reaches the database or
the JSON encoder. The wire models' own constraints then take over.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from app.errors import InvalidRequest
from app.json import BadValue, check_text, check_value, loads, text_problem

# pgvector stores float32 and sums squares and products in float32: with every component
# within ±1e16, a distance over up to 2,000 dimensions (the most an index has) stays finite
# ((2·1e16)²·2000 = 8e35 < 3.4e38), so no score is NaN or infinite, which JSON cannot carry.
MAX_VECTOR_COMPONENT = 1e16


class OpenAIModel(BaseModel):
    """A wire model: unknown fields accepted (new SDK versions add them), floats finite."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


VectorComponent = Annotated[float, Field(ge=-MAX_VECTOR_COMPONENT, le=MAX_VECTOR_COMPONENT)]


def _metadata_limits(value: dict[str, str]) -> dict[str, str]:
    # OpenAI: at most 16 pairs, keys up to 64 characters, values up to 512.
    if len(value) > 16:
        raise ValueError("metadata may hold at most 16 key-value pairs")
    for key, item in value.items():
        if len(key) > 64:
            raise ValueError(f"metadata key '{key[:16]}…' is longer than 64 characters")
        if len(item) > 512:
            raise ValueError(f"metadata value of '{key}' is longer than 512 characters")
    return value


# An object's `metadata`, within OpenAI's limits.
Metadata = Annotated[dict[str, str], AfterValidator(_metadata_limits)]


# Where the Guardian's request check leaves the JSON body it parsed (possibly redacted), in the
# request's state: the route's check takes it instead of parsing the body again.
PARSED_BODY = "parsed_json_body"


def is_json(content_type: str | None) -> bool:
    # As FastAPI decides whether to parse a body as JSON.
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json"))


_NOTHING = object()


class CheckedRequest(Request):
    """A request whose JSON body was parsed (and checked) once, by `check()`."""

    _checked: Any = None
    _has_checked = False

    async def check(self, has_body: bool) -> None:
        """Check path and query parameters and, for a route with a body, the JSON body."""
        try:
            for name, value in self.path_params.items():
                check_text(str(value), name)
            for name, value in self.query_params.multi_items():
                if (problem := text_problem(name)) is not None:
                    raise BadValue(None, f"A query parameter's name {problem}.")
                check_text(value, name)
            if not has_body or not is_json(self.headers.get("content-type")):
                return
            shared = self.scope.get("state", {}).get(PARSED_BODY, _NOTHING)
            if shared is not _NOTHING:
                parsed = shared
            else:
                body = await self.body()
                if not body:
                    return
                try:
                    parsed = loads(body)
                except (ValueError, RecursionError):
                    return  # FastAPI parses it again and answers its own `invalid_json`
            check_value(parsed)
            self._checked, self._has_checked = parsed, True
        except BadValue as bad:
            raise InvalidRequest(bad.message, param=bad.param, code="invalid_value") from None

    async def json(self) -> Any:
        """The body as checked, else as the standard library reads it."""
        if self._has_checked:
            return self._checked
        return await super().json()


class CheckedRoute(APIRoute):
    """An API route that checks its request's values before FastAPI reads them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given a checked request."""
        handler = super().get_route_handler()
        has_body = self.body_field is not None

        async def checked(request: Request) -> Response:
            ours = CheckedRequest(request.scope, request.receive)
            await ours.check(has_body)
            return await handler(ours)

        return checked


def check_output_limit(value: int | None, context_window: int, param: str) -> None:
    """An output token limit the model could reach: at most its context window."""
    if value is not None and value > context_window:
        raise InvalidRequest(f"'{param}' may be at most {context_window}, the model's context "
                             "window.", param=param, code="invalid_value")
