"""What every API request's wire carries, checked once for all routes; what the answers'
typed objects share.

`CheckedRoute` is the route class of the API routers: before FastAPI parses and validates a
request, it reads the JSON body with `app.json.loads` and checks every value in it, and
every path and query parameter, against `app.json.check_value` (no NUL, no unpaired
surrogate, finite numbers, safe integers, bounded nesting). A bad value is a 400 naming
where it was (`input[0].content[1].text`, `metadata.key`), so none reaches the database or
the JSON encoder. The wire models' own constraints then take over.

A route whose endpoint returns a `Response` and takes only what a lookup gives (a JSON body
model, the request, plain string headers, and dependencies that read the request and
nothing else) is called directly: its dependencies in their order (a 403 still comes before
a 400), its headers read, its body validated by its model; any request that does not pass
that way (a body that is not a JSON object or fails its model, a missing content type) goes
to FastAPI's own handler, which answers it exactly as before. Solving the dependencies
through FastAPI cost ~70,000 CPU instructions per request, and its handler ~150,000 more
(bench/gateway_instructions.py).
"""

from __future__ import annotations

import email.message
import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
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
    return _is_json(content_type)


@functools.lru_cache(maxsize=64)  # a client sends one or two; parsing one costs ~10 µs
def _is_json(content_type: str) -> bool:
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


Direct = Callable[[CheckedRequest], Awaitable[Response | None]]


def _lookup(dependency: Dependant) -> tuple[str | None, Callable[..., Any], str] | None:
    """(its parameter name, the function, its request parameter's name) of a dependency
    that only reads the request, else None."""
    call = dependency.call
    request_name = dependency.request_param_name or dependency.http_connection_param_name
    if (call is None or request_name is None or dependency.dependencies
            or not inspect.iscoroutinefunction(call)
            or dependency.path_params or dependency.query_params or dependency.header_params
            or dependency.cookie_params or dependency.body_params
            or dependency.websocket_param_name or dependency.response_param_name
            or dependency.background_tasks_param_name or dependency.security_scopes_param_name
            or dependency.own_oauth_scopes
            or (dependency.request_param_name and dependency.http_connection_param_name)):
        return None
    return dependency.name, call, request_name


def _direct(route: APIRoute) -> Direct | None:
    """The route's endpoint called without FastAPI's handler, when it can be (see above)."""
    dependant, body = route.dependant, route.body_field
    endpoint = route.endpoint
    if (body is None or route.response_field is not None
            or not inspect.iscoroutinefunction(endpoint) or len(dependant.body_params) != 1
            or dependant.path_params or dependant.query_params or dependant.cookie_params
            or dependant.websocket_param_name or dependant.http_connection_param_name
            or dependant.response_param_name or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name or dependant.own_oauth_scopes):
        return None
    returns = typing.get_type_hints(endpoint).get("return")
    model = body.field_info.annotation
    if not (isinstance(returns, type) and issubclass(returns, Response)
            and isinstance(model, type) and issubclass(model, BaseModel)
            and type(body.field_info) is params.Body and not body.field_info.embed):
        return None
    lookups = [_lookup(d) for d in dependant.dependencies]
    headers: list[tuple[str, str]] = []
    for field in dependant.header_params:
        info = field.field_info
        if (info.annotation != (str | None) or info.default is not None
                or info.validation_alias is not None):
            return None
        headers.append((field.name, field.alias))
    if any(lookup is None for lookup in lookups):
        return None
    calls = [lookup for lookup in lookups if lookup is not None]
    body_name = body.name
    request_name = dependant.request_param_name
    overrides = route.dependency_overrides_provider

    async def direct(request: CheckedRequest) -> Response | None:
        if (not request._has_checked or not isinstance(request._checked, dict)
                or not request.headers.get("content-type")
                or getattr(overrides, "dependency_overrides", None)):
            return None  # FastAPI's handler answers: an error, or something to override
        values: dict[str, Any] = {}
        for name, call, param in calls:
            value = await call(**{param: request})
            if name is not None:
                values[name] = value
        for name, alias in headers:
            values[name] = request.headers.get(alias)
        try:
            values[body_name] = model.model_validate(request._checked)
        except ValidationError:
            return None  # FastAPI's handler validates it again and answers its own 400
        if request_name is not None:
            values[request_name] = request
        response: Response = await endpoint(**values)
        return response

    return direct


class CheckedRoute(APIRoute):
    """An API route that checks its request's values before FastAPI reads them, and calls
    its endpoint directly when it can (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given a checked request; or the endpoint directly."""
        handler = super().get_route_handler()
        has_body = self.body_field is not None
        direct = _direct(self)

        async def checked(request: Request) -> Response:
            ours = CheckedRequest(request.scope, request.receive)
            await ours.check(has_body)
            if direct is not None and (answer := await direct(ours)) is not None:
                return answer
            return await handler(ours)

        return checked


def check_output_limit(value: int | None, context_window: int, param: str) -> None:
    """An output token limit the model could reach: at most its context window."""
    if value is not None and value > context_window:
        raise InvalidRequest(f"'{param}' may be at most {context_window}, the model's context "
                             "window.", param=param, code="invalid_value")


# The objects an answer is made of are dataclasses (slots), written by orjson as they are:
# building and writing them costs a fraction of what pydantic models cost per request.


def plain(value: Any) -> Any:
    """`value` (dataclasses within) as plain JSON values: dicts, lists, scalars."""
    return orjson.loads(orjson.dumps(value))


# The typed objects the OpenAPI document shows, by component name (`wire_ref` adds them).
_DOCUMENTED: dict[str, Any] = {}


def wire_ref(name: str, kind: Any) -> dict[str, str]:
    """A `$ref` to the OpenAPI component `name`: the JSON Schema of `kind` (a dataclass, or
    a union of them), which `wire_schemas()` gives with everything it holds."""
    _DOCUMENTED[name] = kind
    return {"$ref": f"#/components/schemas/{name}"}


def wire_schemas() -> dict[str, Any]:
    """The JSON Schemas of the documented types (and of everything they hold), by name, as
    OpenAPI components: made by pydantic from the dataclasses, for the document only."""
    schemas: dict[str, Any] = {}
    for name, kind in _DOCUMENTED.items():
        schema = TypeAdapter(kind).json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    for schema in schemas.values():
        if "properties" in schema:  # a dataclass is written whole: every field, always
            schema["required"] = list(schema["properties"])
    return schemas
