"""The app's OpenAPI document, finished in one place, and its YAML rendering.

FastAPI documents each route's request and its 200 (the models named in `responses=`). What
the service answers besides, it answers on every route through its middleware and error
handlers, so it is documented here, not on each decorator: the error envelope for the 4xx and
503 it really gives, the bearer credentials, and no 422 (validation errors are 400). OpenAPI has
no WebSocket operations: the one on `/v1/responses` is described as Open Responses describes
it, by the path's `x-openresponses-websocket` (its client message and its error message).

Usage: `python -m app.openapi docs/openapi/lukhas-openai.yaml` (or `make openapi`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI

from app.api.protocol import wire_schemas
from app.errors import ErrorEnvelope, SocketErrorEvent
from app.settings import Settings

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorEnvelope"}
_RETRY_AFTER = {"retry-after": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "string"}}}
# Status → (description, response headers).
ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": ("Invalid request: a parameter (`invalid_value`, `missing_required_parameter`, "
            "named in `param`), or a body that is not JSON (`invalid_json`) or is nested too "
            "deeply (`json_too_deep`).", {}),
    "401": ("No credential (`missing_api_key`), or one that is not valid (`invalid_api_key`, "
            "or a ΛiD token that is expired, revoked or not yet valid).", {}),
    "403": ("The credential lacks the scope this route needs (`insufficient_permissions`).",
            {}),
    "404": ("No such resource, or not the caller's (`not_found`, `model_not_found`, "
            "`response_not_found`, ...).", {}),
    "405": ("Method not allowed on this path (`method_not_allowed`).", {}),
    "408": ("The request body did not arrive in time (`request_timeout`); the connection is "
            "closed.", {}),
    "413": ("The request body is over the size limit (`request_too_large`), whether it "
            "declares its length or is chunked.", {}),
    "429": ("Rate limit reached (`rate_limit_exceeded`).",
            {**_RETRY_AFTER, "retry-after-ms": {"description": "The same, in milliseconds.",
                                                "schema": {"type": "string"}}}),
    "431": ("The request line and headers are over the size limit "
            "(`request_headers_too_large`); the connection is closed.", {}),
    "503": ("A store the request needs is unreachable for now (`service_unavailable`): retry.",
            {"x-should-retry": {"description": "`true`: a retry can succeed.",
                                "schema": {"type": "string"}}}),
}
_STRING = {"type": "string"}
# Headers on every answer, and on every admitted `/v1` answer (when the limiter is reachable).
REQUEST_ID = {"x-request-id": {"description": "The request's id (yours, if well-formed).",
                               "schema": _STRING}}
RATE_LIMIT = {f"x-ratelimit-{kind}-{unit}": {"description": f"Rate limit: {kind}, {unit}.",
                                             "schema": _STRING}
              for unit in ("requests", "tokens") for kind in ("limit", "remaining", "reset")}
# Answered by every operation, whatever its path: by the transport limits and routing.
_EVERYWHERE = ("405", "408", "413", "431")
SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer",
               "description": "A static API key (`LUKHAS_API_KEYS`), as "
                              "`Authorization: Bearer <key>`."},
    "lidToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                 "description": "A ΛiD token (HS256 JWT, `lukhas token issue` or "
                                "`POST /v1/identity/tokens`), as `Authorization: Bearer "
                                "<token>`; its tier and scopes decide what it may call."},
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
SOCKET_PATH = "/v1/responses"
SOCKET = {
    "description": (
        "Open a WebSocket on `/v1/responses` (the bearer credential on the upgrade request; "
        "a refusal is the handshake's HTTP answer in the error envelope). Each "
        "`response.create` message is one turn, rate-limited as one request: the create body "
        "plus `type`, without `stream`, `stream_options`, `background`, `stream_id` or "
        "`generate: false`. It is answered with the `text/event-stream` events of a streamed "
        "create, one JSON event per text message, or, if it fails before its response "
        "starts, with one error message. One response runs at a time (another create meanwhile:"
        " 409 `response_already_in_flight`). `previous_response_id` continues the socket's "
        "latest response even with `store: false`, other ids from storage; a failed "
        "continuation evicts the response it named (`previous_response_not_found` after). A "
        "socket lasts at most 60 minutes (`websocket_connection_limit_reached`, then closed)."),
    "clientMessage": {"$ref": "#/components/schemas/ResponseCreateEvent"},
    "errorMessage": {"$ref": "#/components/schemas/SocketErrorEvent"},
}
CREATE_EVENT = {"title": "ResponseCreateEvent", "allOf": [
    {"type": "object", "required": ["type"],
     "properties": {"type": {"const": "response.create"}}},
    {"$ref": "#/components/schemas/ResponseCreateRequest"}]}


def _statuses(path: str, operation: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """The error statuses this operation can answer with."""
    statuses = list(_EVERYWHERE)
    if not path.startswith("/v1/"):
        return statuses
    statuses += ["401", "403", "429", "503"]
    params = operation.get("parameters", [])
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if params or body:
        statuses.append("400")
    ref = body.get("schema", {}).get("$ref", "")
    body_props = components["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    if any(p["in"] == "path" for p in params) or "model" in body_props:
        statuses.append("404")
    return sorted(statuses)


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers and credentials every operation has; drop FastAPI's 422."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(envelope.pop("$defs", {}))
    schemas["ErrorEnvelope"] = envelope
    schemas.update(wire_schemas())
    components["securitySchemes"] = SECURITY_SCHEMES
    if SOCKET_PATH in document["paths"]:
        socket_error = SocketErrorEvent.model_json_schema(
            ref_template="#/components/schemas/{model}")
        schemas.update(socket_error.pop("$defs", {}))
        schemas.update(ResponseCreateEvent=CREATE_EVENT, SocketErrorEvent=socket_error)
        document["paths"][SOCKET_PATH]["x-openresponses-websocket"] = SOCKET
    for path, item in document["paths"].items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            answers = operation["responses"]
            answers.pop("422", None)
            for status in _statuses(path, operation, components):
                description, headers = ERRORS[status]
                answer = answers.setdefault(status, {"description": description})
                answer.setdefault("content", {"application/json": {"schema": ERROR_SCHEMA}})
                answer["headers"] = headers
            for status, answer in answers.items():
                limited = path.startswith("/v1/") and status in ("200", "429")
                answer["headers"] = {**REQUEST_ID, **(RATE_LIMIT if limited else {}),
                                     **answer.get("headers", {})}
            operation["responses"] = dict(sorted(answers.items()))
            if path.startswith("/v1/"):
                operation["security"] = [{"apiKey": []}, {"lidToken": []}]
    return document


def install(app: FastAPI, path_order: Sequence[str] = ()) -> None:
    """Serve the finished document at `/openapi.json`, its paths in `path_order` (the
    order requests are matched in need not be the order a reader expects)."""
    raw = app.openapi
    finished: dict[str, Any] | None = None
    rank = {path: i for i, path in enumerate(path_order)}

    def document() -> dict[str, Any]:
        nonlocal finished
        if finished is None:
            finished = finish(raw())
            finished["paths"] = dict(sorted(finished["paths"].items(),
                                            key=lambda item: rank.get(item[0], len(rank))))
        return finished

    app.openapi = document  # type: ignore[method-assign]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of an app built with default settings (no lifespan run)."""
    from app.main import create_app

    document: dict[str, Any] = create_app(Settings()).openapi()
    return document


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        """Write shared parts (the error schema, headers) in full wherever they appear."""
        return True


def render(document: dict[str, Any]) -> str:
    """Stable YAML: keys in the app's order, no anchors."""
    header = "# Generated by `make openapi` from the app; a test fails when the two drift.\n"
    return header + yaml.dump(document, Dumper=_NoAliases, sort_keys=False, allow_unicode=True,
                              width=100)


def main() -> int:
    """Write the document to the path given."""
    Path(sys.argv[1]).write_text(render(openapi_document()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
