"""Typed errors and the one place that renders OpenAI's error envelope.

Envelope: `{"error": {"message", "type", "param", "code"}}`, as the OpenAI SDKs parse it
(https://platform.openai.com/docs/guides/error-codes). FastAPI's own 404/405 and validation
errors are rendered here too; validation errors become 400, not 422, so the SDKs raise
`BadRequestError`. On a WebSocket the same envelope goes out as a message, with `type` and
the HTTP-style `status` beside it (Open Responses, "WebSocket Errors"); a WebSocket refused
at its handshake gets the HTTP answer itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.observability.logging import request_id_var

log = logging.getLogger("lukhas.errors")


class ErrorObject(BaseModel):
    """The inside of the envelope; all four keys are always present."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorEnvelope(BaseModel):
    """`{"error": {...}}`, the body of every error answer (documented in the OpenAPI)."""

    error: ErrorObject


class SocketErrorObject(ErrorObject):
    """The envelope's inside on a WebSocket; `headers` as an HTTP answer would have carried
    them (`retry-after` of a 429), as OpenAI's WebSocket mode sends them."""

    headers: dict[str, str] | None = None


class SocketErrorEvent(BaseModel):
    """A failure on a WebSocket: `{"type": "error", "status", "error": {...}}`."""

    type: Literal["error"]
    status: int
    error: SocketErrorObject


class APIError(Exception):
    """An error with an HTTP status and an OpenAI error body."""

    status_code = 500
    error_type = "server_error"
    default_code: str | None = "server_error"
    # Whether the same request may succeed if sent again (told to the SDKs as
    # `x-should-retry` on a 5xx; without it they retry every 5xx).
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else self.default_code
        self.param = param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The OpenAI error envelope for this error."""
        return error_body(self.message, self.error_type, self.param, self.code)


class InvalidRequest(APIError):
    status_code = 400
    error_type = "invalid_request_error"
    default_code = None


class AuthenticationFailed(APIError):
    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"


class PermissionDenied(APIError):
    status_code = 403
    error_type = "invalid_request_error"
    default_code = "insufficient_permissions"


class NotFound(APIError):
    status_code = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class MethodNotAllowed(APIError):
    status_code = 405
    error_type = "invalid_request_error"
    default_code = "method_not_allowed"


class Conflict(APIError):
    """409; `x-should-retry: false`, as the OpenAI SDKs otherwise retry a 409."""

    status_code = 409
    error_type = "invalid_request_error"
    default_code = "conflict"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("x-should-retry", "false")


class PayloadTooLarge(APIError):
    status_code = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class HeadersTooLarge(APIError):
    status_code = 431
    error_type = "invalid_request_error"
    default_code = "request_headers_too_large"


class RateLimited(APIError):
    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after_s: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("retry-after", f"{retry_after_s:.3f}".rstrip("0").rstrip("."))
        self.headers.setdefault("retry-after-ms", str(max(1, round(retry_after_s * 1000))))


class RequestTimeout(APIError):
    status_code = 408
    error_type = "invalid_request_error"
    default_code = "request_timeout"


class ServerError(APIError):
    """A fault of ours: the same request would fail again, and the connection is not reused
    (what the failed handler left of its request, e.g. an unread body, is unknown)."""

    status_code = 500

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("connection", "close")


class ServiceUnavailable(APIError):
    """A store or dependency is down for now: a retry after a pause can succeed."""

    status_code = 503
    default_code = "service_unavailable"
    retryable = True


def previous_response_not_found(response_id: str) -> NotFound:
    """A `previous_response_id` that names none of the caller's responses."""
    return NotFound(f"Previous response with id '{response_id}' not found.",
                    param="previous_response_id", code="previous_response_not_found")


def socket_error(error: APIError) -> dict[str, Any]:
    """The error as a WebSocket message: the envelope, its `type` and its HTTP status."""
    envelope = error.body()
    # A connection's own headers (`connection: close`) say nothing on a socket that stays.
    headers = {k: v for k, v in error.headers.items() if k.lower() != "connection"}
    if headers:
        envelope["error"]["headers"] = headers
    return {"type": "error", "status": error.status_code, **envelope}


async def refuse(error: APIError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request, or a WebSocket's handshake, with the error. A server without the
    WebSocket denial response extension can only close the handshake (HTTP 403)."""
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get(
            "extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": error.code or ""})
        return
    await error_response(error)(scope, receive, send)


def error_body(
    message: str, error_type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """Build `{"error": {...}}` with all four keys present, as strict clients expect."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_response(error: APIError) -> Response:
    """Render an APIError as a JSON response with its status and headers."""
    headers = dict(error.headers)
    if error.status_code >= 500:
        headers.setdefault("x-should-retry", "true" if error.retryable else "false")
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status_code,
        headers=headers,
        media_type="application/json",
    )


def _loc_to_param(loc: Sequence[int | str]) -> str | None:
    # The first element says where (body, query, path, header); a field may share its name.
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    parts = [str(p) for p in loc]
    # Pydantic names union branches in the location ("str", "list[...]"); clients want the field.
    parts = [p for p in parts if not (p.startswith(("list[", "dict[", "function-")) or p == "str")]
    if not parts:
        return None
    param = parts[0]
    for p in parts[1:]:
        param += f"[{p}]" if p.isdigit() else f".{p}"
    return param


def validation_error(exc: RequestValidationError) -> APIError:
    """Turn FastAPI's validation error into one clear 400."""
    errors = exc.errors()
    if not errors:
        return InvalidRequest("Invalid request.")
    first = errors[0]
    # For a union (`str | list[float]`), the branch the value did not even match comes
    # first; an error from a branch it did match says more.
    first = next((e for e in errors if tuple(e.get("loc", ()))[:2] == tuple(
        first.get("loc", ()))[:2] and not str(e.get("type", "")).endswith("_type")), first)
    if first.get("type") == "json_invalid":
        return unparsable_body(None)
    loc = first.get("loc", ())
    param = _loc_to_param(loc)
    if first.get("type") == "missing" and param:
        return InvalidRequest(f"Missing required parameter: '{param}'.", param=param,
                              code="missing_required_parameter")
    msg = first.get("msg", "Invalid value")
    where = f" for '{param}'" if param else ""
    return InvalidRequest(f"Invalid value{where}: {msg}.", param=param, code="invalid_value")


def json_too_deep(limit: int | None = None) -> InvalidRequest:
    """The 400 for a request body nested deeper than the service takes."""
    most = f" (at most {limit} levels of arrays and objects)" if limit else ""
    return InvalidRequest(f"The JSON body of your request is nested too deeply{most}.",
                          code="json_too_deep")


def unparsable_body(cause: BaseException | None) -> APIError:
    """The 400 for a request body the JSON parser gave up on."""
    if isinstance(cause, RecursionError):
        return json_too_deep()
    return InvalidRequest(
        "We could not parse the JSON body of your request. Send valid JSON (UTF-8) with "
        "Content-Type: application/json.",
        code="invalid_json",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that make every error an OpenAI envelope."""

    async def on_api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, APIError)
        return error_response(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            err: APIError = NotFound(
                f"Unknown path: {request.method} {request.url.path}.", code="unknown_url"
            )
        elif exc.status_code == 405:
            err = MethodNotAllowed(
                f"Method {request.method} is not allowed on {request.url.path}."
            )
        elif exc.status_code == 400:
            # FastAPI's own 400: the body could not be decoded (not UTF-8, or nested past
            # the parser's recursion limit); a plain JSON syntax error arrives as validation.
            err = unparsable_body(exc.__cause__)
        else:
            err = APIError(str(exc.detail))
            err.status_code = exc.status_code
            if exc.status_code < 500:
                err.error_type, err.code = "invalid_request_error", None
        err.headers.update(exc.headers or {})
        return error_response(err)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Runs in Starlette's outermost layer, outside the request id middleware.
        request_id: str | None = request.scope.get("state", {}).get("request_id")
        token = request_id_var.set(request_id)
        try:
            log.exception("unhandled error", exc_info=exc)
        finally:
            request_id_var.reset(token)
        error = ServerError("The server had an error while processing your request.")
        if request_id is not None:
            error.headers["x-request-id"] = request_id
        return error_response(error)

    app.add_exception_handler(APIError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
