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
import struct
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
from tests.utils.upstream.wire import (
    Exchange,
    Receive,
    Scope,
    Send,
    error_body,
    send_json,
    send_stream,
)

API_PATHS = {"/chat/completions", "/responses", "/embeddings", "/models"}
CREATED = 1_700_000_000


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
            await send_json(send, 401, {"error": {
                "message": "Incorrect API key provided.", "type": "invalid_request_error",
                "param": None, "code": "invalid_api_key"}})
            return
        try:
            rule = parse_header(headers["x-mock-behaviour"]) if "x-mock-behaviour" in headers \
                else state.take_rule(path, body.get("model") if isinstance(body, dict) else None)
        except RuleError as exc:
            await send_json(send, 400, error_body(f"x-mock-behaviour: {exc}", None))
            return
        io = Exchange(receive, send)
        try:
            if rule is not None and not await self._before(rule, io):
                return
            if bad_json:
                raise BadRequest("We could not parse the JSON body of your request.")
            await self._route(method, path, body, rule, io)
        except BadRequest as exc:
            await send_json(send, exc.status, exc.body())
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            await send_json(send, 400, error_body(f"Invalid request: {exc}", None))
        finally:
            io.close()

    async def _before(self, rule: Rule, io: Exchange) -> bool:
        """Hang, delay, or fail as `rule` says; False when the request is answered or dropped."""
        if rule.hang and not await io.pause(rule.seconds, self.state.closing):
            return False  # the client gave up first
        if rule.first_byte_delay_ms:
            await asyncio.sleep(rule.first_byte_delay_ms / 1000)
        if rule.status is not None:
            await send_json(io.send, rule.status, rule.error_body(), rule.error_headers())
            return False
        return True

    async def _route(self, method: str, path: str, body: Any, rule: Rule | None,
                     io: Exchange) -> None:
        state, send = self.state, io.send
        if path == "/v1/models" and method == "GET":
            await send_json(send, 200, {"object": "list", "data": [
                _model(m) for m in state.config.models]})
            return
        if path.startswith("/v1/models/") and method == "GET":
            name = path.removeprefix("/v1/models/")
            if name not in state.config.models:
                raise _no_model(name)
            await send_json(send, 200, _model(name))
            return
        if path.startswith("/v1/responses/") and method == "GET":
            stored = state.responses.get(path.removeprefix("/v1/responses/"))
            if stored is None:
                raise BadRequest("Response not found.", None, "response_not_found", 404)
            await send_json(send, 200, responses.public(stored))
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

    async def _chat(self, body: dict[str, Any], rule: Rule | None, io: Exchange) -> None:
        prompt, options = chat.parse(body)
        answer = plan(prompt, rule, self.state.cached_tokens(prompt.parts, prompt.part_tokens))
        if options["stream"]:
            frames = chat.chunks(answer, body["model"], options)
            failure = (rule or Rule()).error_body
            await send_stream(io, frames, rule, self.state, lambda _: chat.error_frame(failure()))
        else:
            done = chat.completion(answer, body["model"], options)
            await send_json(io.send, 200, done, rule=rule)

    async def _responses(self, body: dict[str, Any], rule: Rule | None, io: Exchange) -> None:
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
            message = (rule or Rule()).error_body()["error"]["message"]
            await send_stream(io, responses.events(resp, answer), rule, self.state,
                              lambda seq: responses.failed_event(resp, seq, message))
        else:
            await send_json(io.send, 200, responses.public(resp), rule=rule)

    async def _embeddings(self, body: dict[str, Any], rule: Rule | None, io: Exchange) -> None:
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
        await send_json(io.send, 200, {"object": "list", "data": data, "model": body["model"],
                                "usage": {"prompt_tokens": used, "total_tokens": used}}, rule=rule)

    # -- the control routes --------------------------------------------------------------------

    async def _control(self, method: str, path: str, raw: bytes, scope: Scope,
                       send: Send) -> None:
        state = self.state
        try:
            body: Any = orjson.loads(raw) if raw else None
            if (method, path) == ("GET", "/__control"):
                await send_json(send, 200, state.snapshot())
            elif (method, path) == ("POST", "/__control/behaviours"):
                rules = [parse_rule(r) for r in (body if isinstance(body, list) else [body])]
                state.rules.extend(rules)
                await send_json(send, 200, state.snapshot())
            elif (method, path) == ("DELETE", "/__control/behaviours"):
                state.rules.clear()
                await send_json(send, 200, state.snapshot())
            elif (method, path) == ("POST", "/__control/config"):
                state.configure(body or {})
                await send_json(send, 200, state.snapshot())
            elif (method, path) == ("POST", "/__control/reset"):
                state.reset()
                await send_json(send, 200, state.snapshot())
            elif (method, path) == ("GET", "/__requests"):
                logged = {"counts": dict(state.counts), "requests": list(state.log)}
                await send_json(send, 200, logged)
            elif (method, path) == ("DELETE", "/__requests"):
                state.counts.clear()
                state.log.clear()
                await send_json(send, 200, {"counts": {}, "requests": []})
            else:
                await send_json(send, 404, error_body(f"no control route {method} {path}", None))
        except (RuleError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
            await send_json(send, 400, error_body(str(exc), None))


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
