"""The mock upstream as a plain ASGI app: the OpenAI routes, the control routes, the behaviours.

Plain ASGI rather than a framework keeps it fast under benchmarks and gives exact control over
the wire (delays before the first byte, a connection dropped mid-body). Routes answer with and
without the `/v1` prefix. Control routes (`/__control...`, `/__requests`) need no API key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import os
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from tests.utils.upstream import chat, responses
from tests.utils.upstream.generate import BadRequest, count_tokens, plan
from tests.utils.upstream.state import (
    Config,
    Rule,
    RuleError,
    UpstreamState,
    parse_header,
    parse_rule,
)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
API_PATHS = {"/chat/completions", "/responses", "/embeddings", "/models"}
CREATED = 1_700_000_000


class Abort(Exception):
    """Raised to make the server drop the connection (uvicorn closes the transport)."""


class MockUpstreamApp:
    """An OpenAI-compatible upstream whose answers and failures tests script."""

    def __init__(self, config: Config | None = None) -> None:
        self.state = UpstreamState(config or Config())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        raw = bytearray()
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"].rstrip("/") or "/"
        if path.startswith("/__"):
            await self._control(scope["method"], path, bytes(raw), scope, send)
            return
        if path in API_PATHS or path.startswith(("/models/", "/responses/")):
            path = "/v1" + path
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        await self._api(scope["method"], path, bytes(raw), headers, scope, receive, send)

    # -- the OpenAI routes ---------------------------------------------------------------------

    async def _api(self, method: str, path: str, raw: bytes, headers: dict[str, str],
                   scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body, bad_json = raw.decode("utf-8", "replace"), True
        state.record(method, path, scope["query_string"].decode("latin-1"), headers, body)
        key = state.config.api_key
        if key is not None and headers.get("authorization") != f"Bearer {key}":
            await _json(send, 401, {"error": {
                "message": "Incorrect API key provided.", "type": "invalid_request_error",
                "param": None, "code": "invalid_api_key"}})
            return
        try:
            rule = parse_header(headers["x-mock-behaviour"]) if "x-mock-behaviour" in headers \
                else state.take_rule(path)
        except RuleError as exc:
            await _json(send, 400, _error(f"x-mock-behaviour: {exc}", None))
            return
        io = _Exchange(receive, send)
        try:
            if rule is not None and not await self._before(rule, io):
                return
            if bad_json:
                raise BadRequest("We could not parse the JSON body of your request.")
            await self._route(method, path, body, rule, io)
        except BadRequest as exc:
            await _json(send, exc.status, exc.body())
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            await _json(send, 400, _error(f"Invalid request: {exc}", None))
        finally:
            io.close()

    async def _before(self, rule: Rule, io: _Exchange) -> bool:
        """Hang, delay, or fail as `rule` says; False when the request is answered or dropped."""
        if rule.hang and not await io.pause(rule.seconds, self.state.closing):
            return False  # the client gave up first
        if rule.first_byte_delay_ms:
            await asyncio.sleep(rule.first_byte_delay_ms / 1000)
        if rule.status is not None:
            await _json(io.send, rule.status, rule.error_body(), rule.error_headers())
            return False
        return True

    async def _route(self, method: str, path: str, body: Any, rule: Rule | None,
                     io: _Exchange) -> None:
        state, send = self.state, io.send
        if path == "/v1/models" and method == "GET":
            await _json(send, 200, {"object": "list", "data": [
                _model(m) for m in state.config.models]})
            return
        if path.startswith("/v1/models/") and method == "GET":
            name = path.removeprefix("/v1/models/")
            if name not in state.config.models:
                raise _no_model(name)
            await _json(send, 200, _model(name))
            return
        if path.startswith("/v1/responses/") and method == "GET":
            stored = state.responses.get(path.removeprefix("/v1/responses/"))
            if stored is None:
                raise BadRequest("Response not found.", None, "response_not_found", 404)
            await _json(send, 200, responses.public(stored))
            return
        handlers = {"/v1/chat/completions": self._chat, "/v1/responses": self._responses,
                    "/v1/embeddings": self._embeddings}
        if path not in handlers and path != "/v1/models":
            raise BadRequest(f"Invalid URL ({method} {path})", None, "unknown_url", 404)
        if method != "POST" or path == "/v1/models":
            raise BadRequest(f"Method {method} not allowed on {path}.", None, None, 405)
        if not isinstance(body, dict):
            raise BadRequest("The body of your request must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str):
            raise BadRequest("Missing required parameter: 'model'.", "model",
                             "missing_required_parameter")
        if model not in state.config.models:
            raise _no_model(model)
        await handlers[path](body, rule, io)

    async def _chat(self, body: dict[str, Any], rule: Rule | None, io: _Exchange) -> None:
        prompt, options = chat.parse(body)
        answer = plan(prompt, rule, self.state.cached_tokens(prompt.parts, prompt.part_tokens))
        if options["stream"]:
            await _stream(io, chat.chunks(answer, body["model"], options), rule, self.state)
        else:
            await _json(io.send, 200, chat.completion(answer, body["model"], options), rule=rule)

    async def _responses(self, body: dict[str, Any], rule: Rule | None, io: _Exchange) -> None:
        previous_id = body.get("previous_response_id")
        previous = self.state.responses.get(previous_id) if previous_id else None
        if previous_id and previous is None:
            raise BadRequest(f"Previous response with id '{previous_id}' not found.",
                             "previous_response_id", "previous_response_not_found", 404)
        prompt = responses.parse(body, previous)
        answer = plan(prompt, rule, self.state.cached_tokens(prompt.parts, prompt.part_tokens))
        resp = responses.response(body, prompt, answer)
        resp["_parts"] = [*resp["_parts"], orjson.dumps(resp["output"])]
        resp["_tokens"] = [*resp["_tokens"], answer.completion_tokens]
        stored = self.state.responses
        if len(stored) >= 1000:
            del stored[next(iter(stored))]
        stored[resp["id"]] = resp
        if body.get("stream") is True:
            await _stream(io, responses.events(resp, answer), rule, self.state)
        else:
            await _json(io.send, 200, responses.public(resp), rule=rule)

    async def _embeddings(self, body: dict[str, Any], rule: Rule | None, io: _Exchange) -> None:
        items = body.get("input")
        if isinstance(items, str) or (isinstance(items, list) and items and all(
                isinstance(i, int) for i in items)):
            items = [items]
        if not isinstance(items, list) or not items or len(items) > 2048 or any(
                i in ("", []) or not isinstance(i, str | list) for i in items):
            raise BadRequest("'input' must be a non-empty string or array of at most 2048 "
                             "non-empty strings or token arrays.", "input")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise BadRequest(f"Invalid value for 'encoding_format': {fmt!r}.", "encoding_format")
        dims = self.state.config.embedding_dims
        wanted = body.get("dimensions", dims)
        if not isinstance(wanted, int) or not 1 <= wanted <= dims:
            raise BadRequest(f"'dimensions' must be from 1 to {dims}.", "dimensions")
        data, used = [], 0
        for index, item in enumerate(items):
            text = item if isinstance(item, str) else " ".join(map(str, item))
            used += count_tokens(text)
            vec = _vector(text, dims)[:wanted]
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            vec = [v / norm for v in vec]
            out: Any = vec if fmt == "float" else base64.b64encode(
                struct.pack(f"<{len(vec)}f", *vec)).decode()
            data.append({"object": "embedding", "index": index, "embedding": out})
        await _json(io.send, 200, {"object": "list", "data": data, "model": body["model"],
                                "usage": {"prompt_tokens": used, "total_tokens": used}}, rule=rule)

    # -- the control routes --------------------------------------------------------------------

    async def _control(self, method: str, path: str, raw: bytes, scope: Scope,
                       send: Send) -> None:
        state = self.state
        try:
            body: Any = orjson.loads(raw) if raw else None
            if (method, path) == ("GET", "/__control"):
                await _json(send, 200, state.snapshot())
            elif (method, path) == ("POST", "/__control/behaviours"):
                rules = [parse_rule(r) for r in (body if isinstance(body, list) else [body])]
                state.rules.extend(rules)
                await _json(send, 200, state.snapshot())
            elif (method, path) == ("DELETE", "/__control/behaviours"):
                state.rules.clear()
                await _json(send, 200, state.snapshot())
            elif (method, path) == ("POST", "/__control/config"):
                state.configure(body or {})
                await _json(send, 200, state.snapshot())
            elif (method, path) == ("POST", "/__control/reset"):
                state.reset()
                await _json(send, 200, state.snapshot())
            elif (method, path) == ("GET", "/__requests"):
                await _json(send, 200, {"counts": dict(state.counts), "requests": list(state.log)})
            elif (method, path) == ("DELETE", "/__requests"):
                state.counts.clear()
                state.log.clear()
                await _json(send, 200, {"counts": {}, "requests": []})
            else:
                await _json(send, 404, _error(f"no control route {method} {path}", None))
        except (RuleError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
            await _json(send, 400, _error(str(exc), None))


def _error(message: str, param: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}


def _no_model(name: str) -> BadRequest:
    return BadRequest(f"The model `{name}` does not exist or you do not have access to it.",
                      "model", "model_not_found", 404)


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "mock-upstream"}


def _vector(text: str, dims: int) -> list[float]:
    """Deterministic pseudo-random components in [-1, 1] from the text's hash."""
    out: list[float] = []
    block = 0
    while len(out) < dims:
        digest = hashlib.blake2b(f"{block}|{text}".encode(), digest_size=64).digest()
        out.extend(b / 127.5 - 1.0 for b in digest)
        block += 1
    return out[:dims]


def _headers(content_type: bytes, extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
    request_id = b"req_" + os.urandom(8).hex().encode()
    out = [(b"content-type", content_type), (b"x-request-id", request_id)]
    out += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (extra or {}).items()]
    return out


async def _json(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None,
                rule: Rule | None = None) -> None:
    body = orjson.dumps(payload)
    head = _headers(b"application/json", {**(rule.headers if rule else {}), **(headers or {})})
    head.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": head})
    if rule is not None and rule.die_after_chunks is not None:
        await send({"type": "http.response.body", "body": body[:len(body) // 2],
                    "more_body": True})
        raise Abort("scripted: connection dropped mid-body")
    await send({"type": "http.response.body", "body": body})


async def _stream(io: _Exchange, frames: Iterable[bytes], rule: Rule | None,
                  state: UpstreamState) -> None:
    """Send SSE frames; `rule` may slow them down or cut the stream after some of them."""
    head = _headers(b"text/event-stream; charset=utf-8",
                    {"cache-control": "no-cache", **(rule.headers if rule else {})})
    await io.send({"type": "http.response.start", "status": 200, "headers": head})
    delay = rule.chunk_delay_ms / 1000 if rule else 0.0
    cut = rule.die_after_chunks if rule else None
    for sent, frame in enumerate(frames):
        if cut is not None and sent >= cut:
            if rule is not None and rule.die_mode == "eof":
                await io.send({"type": "http.response.body", "body": b""})
                return
            raise Abort(f"scripted: stream dropped after {cut} chunks")
        if delay and sent and not await io.pause(delay, state.closing):
            return
        await io.send({"type": "http.response.body", "body": frame, "more_body": True})
    await io.send({"type": "http.response.body", "body": b""})


class _Exchange:
    """One request's ASGI channels, and whether its client has gone (watched only if asked)."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self.receive, self.send = receive, send
        self._gone: asyncio.Future[None] | None = None

    async def _watch(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass

    async def pause(self, seconds: float | None, closing: asyncio.Event) -> bool:
        """Sleep `seconds` (None: until something happens); False if the client left meanwhile;
        Abort if the server closes."""
        if self._gone is None:
            self._gone = asyncio.ensure_future(self._watch())
        closed = asyncio.ensure_future(closing.wait())
        waits: set[asyncio.Future[Any]] = {self._gone, closed}
        await asyncio.wait(waits, timeout=seconds,
                           return_when=asyncio.FIRST_COMPLETED)
        closed.cancel()
        if closing.is_set():
            self._gone.cancel()
            raise Abort("server closing")
        return not self._gone.done()

    def close(self) -> None:
        if self._gone is not None:
            self._gone.cancel()
