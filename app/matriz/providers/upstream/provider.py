"""The provider of every routed group: run the route's plan against the upstreams.

A caller who streams gets the upstream's stream; one who does not, a chat upstream's whole
answer (asked for without `stream`). Before the first delta goes to the caller, the whole
plan runs inside the route's one deadline (`asyncio.timeout_at`): each attempt of a
retryable kind (`retries.on_failures`) moves on to the next, waiting the backoff (or a
429's `retry-after`, when the deadline leaves room for it) before calling a deployment
again; every failure counts toward the deployment's cooldown. Once the first delta is out,
there is no going back: a break is `UpstreamDied`, which the services send as the stream's
terminal error. After the first delta the deadline is checked between chunks, and a silent
upstream is bounded by its read timeout. Docs: docs/routing.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from app.core.cards import ModelCard
from app.errors import APIError, RateLimited
from app.identity.base import Identity
from app.matriz.contract import ChildSpan, Event
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome
from app.matriz.providers.upstream.call import UpstreamCall
from app.matriz.providers.upstream.clients import Endpoint, UpstreamClients
from app.matriz.providers.upstream.errors import (
    UpstreamDied,
    UpstreamError,
    UpstreamTimeout,
    upstream_bad_request,
)
from app.matriz.providers.upstream.reader import ChunkReader, Reader, StreamBroken
from app.matriz.providers.upstream.responses_api import (
    ResponsesReader,
    responses_input,
    responses_params,
)
from app.matriz.providers.upstream.translate import messages
from app.observability.metrics import Children, Metrics
from app.reliability.backoff import MAX_RETRY_AFTER_S, backoff_delay
from app.routing.config import FailureKind, RoutingConfig, failure_kind
from app.routing.cooldown import CooldownSnapshot, CooldownTracker
from app.routing.pick import Attempt, Caller, pick
from app.routing.reload import RoutingReloader

log = logging.getLogger("lukhas.upstream")

_CREATED = 1767225600  # routed groups have no release date of their own
_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}
_CALLER_ERRORS = (400, 413, 422)  # the upstream refused the request itself: the caller's 400


@dataclass(slots=True)
class _Failure:
    kind: FailureKind | None
    error: APIError
    retry_after: float | None = None


@dataclass(slots=True)
class _Opened:
    attempt: Attempt
    response: aiohttp.ClientResponse
    chunks: AsyncIterator[bytes]
    api: str
    reader: Reader
    first: list[Event]
    sent: float  # perf_counter when the call was sent
    start_ns: int


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(name)
        if value is not None:
            try:
                return float(value) * scale
            except ValueError:
                continue
    return None


def _error_of(status: int, raw: bytes) -> tuple[str, str | None, str | None]:
    try:
        body = orjson.loads(raw)
        error = body.get("error") if isinstance(body, dict) else None
    except orjson.JSONDecodeError:
        error = None
    if isinstance(error, dict):
        return (str(error.get("message") or f"upstream answered {status}"),
                error.get("param"), error.get("code"))
    return f"upstream answered {status}", None, None


class UpstreamProvider:
    """Serves every group of the routing file in force."""

    def __init__(self, routing: RoutingReloader, metrics: Metrics, *,
                 clients: UpstreamClients | None = None,
                 cooldowns: CooldownTracker | None = None,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self._routing = routing
        self._metrics = metrics
        self.clients = clients or UpstreamClients()
        self.cooldowns = cooldowns or CooldownTracker()
        self._sleep = sleep
        self._cards: tuple[RoutingConfig | None, dict[str, ModelCard]] = (None, {})
        self._cooling_gauged: set[str] = set()
        self._labels: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._requests = Children(metrics.upstream_requests)
        self._tokens = Children(metrics.upstream_tokens)

    # -- models -----------------------------------------------------------------------

    def _card_map(self) -> dict[str, ModelCard]:
        config = self._routing.config
        if self._cards[0] is not config:
            cards = {}
            for model in config.model_ids():
                group = config.groups[config.group_of(model) or model]
                cards[model] = ModelCard(model, _CREATED, group.owned_by,
                                         group.context_window_tokens)
            self._cards = (config, cards)
        return self._cards[1]

    def cards(self) -> Sequence[ModelCard]:
        """Every group and alias of the routing file in force (every tier's)."""
        return tuple(self._card_map().values())

    def card(self, model: str) -> ModelCard | None:
        """The card of a routed model id, or None when the file has no such group."""
        return self._card_map().get(model)

    # -- a request ----------------------------------------------------------------------

    def begin(self, identity: Identity, model: str, request_id: str) -> UpstreamCall:
        """The route of one request (404 for a model the tier may not use, 503 when every
        deployment is cooling down), taken from the file in force when it starts."""
        config = self._routing.config
        snapshot = self.cooldowns.snapshot()
        if snapshot.until or self._cooling_gauged:
            self._gauge(snapshot)
        route = pick(config, model, Caller(identity.subject, identity.tier), snapshot,
                     request_id=request_id)
        return UpstreamCall(config, route, config.groups[route.group],
                            self.clients.for_config(config),
                            asyncio.get_running_loop().time())

    async def stream(self, inp: ThoughtInput,
                     outcome: ThoughtOutcome) -> AsyncGenerator[Event, None]:
        """Stream the answer of the first attempt of the plan that starts one."""
        call = inp.call
        if call is None:
            raise RuntimeError("a routed model needs its UpstreamCall")
        said = messages(inp.instructions, inp.history, inp.question, call.question_parts,
                        inp.sources)
        chat: dict[str, Any] = {**call.params, "messages": said}
        if call.stream:
            chat["stream"], chat["stream_options"] = True, {"include_usage": True}
        bodies: dict[str, dict[str, Any]] = {"chat_completions": chat}
        upstreams = call.config.upstreams
        if any(upstreams[a.upstream].api == "responses" for a in call.route.plan):
            instructions, items = responses_input(said)
            bodies["responses"] = {**responses_params(call.params, call.route.model),
                                   "instructions": instructions, "input": items,
                                   "stream": True, "store": False}
        loop = asyncio.get_running_loop()
        deadline = call.started + call.route.deadline_seconds
        opened = await self._open(call, bodies, deadline, outcome)
        attempt, reader = opened.attempt, opened.reader
        latency, ttft = self._call_metrics(attempt)
        ttft.observe(time.perf_counter() - opened.sent)
        outcome_label, error = "ok", None
        try:
            for event in opened.first:
                yield event
            out: list[Event] = []
            while not reader.done:
                chunk = await anext(opened.chunks, None)
                if chunk is None:
                    reader.end(out)
                    if not reader.complete:
                        raise StreamBroken("the upstream ended its answer without finishing it")
                    break
                reader.feed(chunk, out)
                if out:
                    for event in out:
                        yield event
                    out.clear()
                if loop.time() > deadline:
                    raise StreamBroken("the request's deadline ran out mid-answer")
            for event in out:
                yield event
            # Read the body to its end (after `[DONE]` only the chunked terminator is left):
            # a response closed before that takes its connection out of the keep-alive pool.
            async for _ in opened.chunks:
                pass
        except (aiohttp.ClientError, StreamBroken) as exc:
            outcome_label, error = "died", str(exc) or type(exc).__name__
            self._failed(attempt, FailureKind.SERVER_ERROR, call.config)
            log.warning("upstream broke off mid-answer",
                        extra={"upstream": attempt.upstream, "error": error})
            raise UpstreamDied(f"The upstream serving '{call.route.model}' broke off "
                               "mid-answer.") from exc
        except BaseException:
            outcome_label = "cancelled"  # the caller left, or Risk ended the answer
            raise
        finally:
            if outcome_label == "ok":
                opened.response.release()  # read to its end: the connection goes back to the pool
            else:
                opened.response.close()  # cut off mid-answer: the connection cannot be reused
            latency.observe(time.perf_counter() - opened.sent)
            self._count(attempt, outcome_label)
            self._span(outcome, attempt, opened.api, opened.start_ns, outcome_label, error)
        outcome.usage = reader.usage
        if reader.finish in ("length", "content_filter", "tool_calls"):
            outcome.finish_reason = reader.finish  # type: ignore[assignment]
        if reader.usage is not None:
            self._count_tokens(attempt.group, reader)

    # -- the plan -------------------------------------------------------------------------

    async def _open(self, call: UpstreamCall, bodies: dict[str, dict[str, Any]],
                    deadline: float, outcome: ThoughtOutcome) -> _Opened:
        config, route = call.config, call.route
        loop = asyncio.get_running_loop()
        endpoints = call.endpoints
        waits: dict[str, float] = {}  # deployment → the retry-after it asked for
        last: _Failure | None = None
        try:
            async with asyncio.timeout_at(deadline):
                for n, attempt in enumerate(route.plan):
                    if n:
                        if attempt.fallback != route.plan[n - 1].fallback:
                            self._metrics.upstream_fallbacks.labels(route.group).inc()
                        else:
                            self._metrics.upstream_retries.labels(attempt.group).inc()
                    delay = waits.get(attempt.deployment)
                    if delay is None and attempt.retry:
                        b = config.retries.backoff
                        delay = backoff_delay(attempt.retry - 1, base=b.base_seconds,
                                              cap=b.cap_seconds, jitter=b.jitter)
                    if delay:
                        if loop.time() + delay >= deadline:
                            continue  # no time to wait for this one: on to the next
                        await self._sleep(delay)
                    api = config.upstreams[attempt.upstream].api
                    result = await self._try(endpoints[attempt.upstream], attempt, api,
                                             bodies[api], outcome)
                    if isinstance(result, _Opened):
                        return result
                    last = result
                    if result.kind is not None:
                        self._failed(attempt, result.kind, config)
                    if not config.retries.retryable(result.kind):
                        raise result.error
                    if result.kind is FailureKind.RATE_LIMITED and result.retry_after:
                        waits[attempt.deployment] = min(result.retry_after, MAX_RETRY_AFTER_S)
        except TimeoutError:
            raise UpstreamTimeout(
                f"No upstream serving '{route.model}' answered within the request's deadline "
                f"of {route.deadline_seconds:g} s.") from None
        if last is None:  # pragma: no cover - a plan has at least one attempt
            raise UpstreamTimeout(f"No upstream serving '{route.model}' could be called.")
        raise last.error

    async def _try(self, endpoint: Endpoint, attempt: Attempt, api: str,
                   body: dict[str, Any], outcome: ThoughtOutcome) -> _Opened | _Failure:
        body["model"] = attempt.model
        payload = orjson.dumps(body)
        start_ns, sent = time.time_ns(), time.perf_counter()
        response: aiohttp.ClientResponse | None = None
        try:
            response = await endpoint.client.post(endpoint.url, data=payload, headers=_HEADERS,
                                                  allow_redirects=False)
            if response.status != 200:
                raw = await response.read()
                response.release()
                failure = self._http_failure(attempt, response.status, raw,
                                             _retry_after(response))
                self._count(attempt, _outcome(response.status))
                self._span(outcome, attempt, api, start_ns, _outcome(response.status),
                           failure.error.message)
                return failure
            first: list[Event] = []
            if not body.get("stream"):  # a whole chat.completion
                whole = ChunkReader()
                whole.whole(await response.read(), first)
                return _Opened(attempt, response, _nothing(), api, whole, first, sent, start_ns)
            reader: Reader = ChunkReader() if api == "chat_completions" else ResponsesReader()
            # Each chunk as it arrives (decompressed by aiohttp when the body is compressed).
            chunks = response.content.iter_any()
            while not first and not reader.done:
                chunk = await anext(chunks, None)
                if chunk is None:
                    reader.end(first)
                    if not reader.complete:
                        raise StreamBroken("the upstream ended its answer before it started")
                    break
                reader.feed(chunk, first)
            return _Opened(attempt, response, chunks, api, reader, first, sent, start_ns)
        except BaseException as exc:
            if response is not None:
                response.close()
            kind = _transport_kind(exc)
            if kind is None:
                if isinstance(exc, asyncio.CancelledError):  # the deadline, or the caller left
                    self._count(attempt, "deadline")
                    self._span(outcome, attempt, api, start_ns, "deadline", "cancelled")
                raise
            label = "died" if kind is FailureKind.SERVER_ERROR else kind.value
            self._count(attempt, label)
            self._span(outcome, attempt, api, start_ns, label, str(exc) or type(exc).__name__)
            log.warning("upstream call failed", extra={"upstream": attempt.upstream,
                                                       "failure": kind.value})
            error = UpstreamTimeout if kind is FailureKind.TIMEOUT else UpstreamError
            return _Failure(kind, error(
                f"The upstream serving '{attempt.group}' failed ({kind.value})."))

    def _http_failure(self, attempt: Attempt, status: int, raw: bytes,
                      retry_after: float | None) -> _Failure:
        message, param, code = _error_of(status, raw)
        kind = failure_kind(status)
        if status in _CALLER_ERRORS:
            return _Failure(None, upstream_bad_request(message, param, code))
        if kind is FailureKind.RATE_LIMITED:
            wait = min(retry_after if retry_after and retry_after > 0 else 1.0,
                       MAX_RETRY_AFTER_S)
            return _Failure(kind, RateLimited(
                f"The upstream serving '{attempt.group}' is rate limited: {message}",
                retry_after_s=wait), retry_after)
        log.warning("upstream answered %d", status, extra={"upstream": attempt.upstream})
        return _Failure(kind, UpstreamError(
            f"The upstream serving '{attempt.group}' answered {status}: {message}"))

    def _failed(self, attempt: Attempt, kind: FailureKind, config: RoutingConfig) -> None:
        """Count a failure toward the deployment's cooldown; the gauge follows at once."""
        if self.cooldowns.record_failure(attempt.deployment, kind, config.cooldowns):
            log.warning("upstream deployment cooling down",
                        extra={"upstream": attempt.upstream,
                               "seconds": config.cooldowns.cooldown_seconds})
            self._gauge(self.cooldowns.snapshot())

    # -- metrics and spans -------------------------------------------------------------

    def _call_metrics(self, attempt: Attempt) -> tuple[Any, Any]:
        key = (attempt.upstream, attempt.group)
        found = self._labels.get(key)
        if found is None:
            m = self._metrics
            found = (m.upstream_latency.labels(*key), m.upstream_ttft.labels(*key))
            self._labels[key] = found
        return found

    def _count(self, attempt: Attempt, outcome: str) -> None:
        self._requests(attempt.upstream, attempt.group, outcome).inc()

    def _count_tokens(self, group: str, reader: Reader) -> None:
        usage = reader.usage
        assert usage is not None
        for kind, value in (("input", usage.input_tokens), ("output", usage.output_tokens),
                            ("reasoning", usage.reasoning_tokens),
                            ("cached", usage.cached_tokens)):
            if value:
                self._tokens(group, kind).inc(value)

    def _gauge(self, snapshot: CooldownSnapshot) -> None:
        counts: dict[str, int] = {}
        for deployment, until in snapshot.until.items():
            if until > snapshot.now:
                upstream = deployment.split("/", 1)[0]
                counts[upstream] = counts.get(upstream, 0) + 1
        for upstream in self._cooling_gauged | set(counts):
            self._metrics.upstream_cooldowns.labels(upstream).set(counts.get(upstream, 0))
        self._cooling_gauged = set(counts)

    def _span(self, outcome: ThoughtOutcome, attempt: Attempt, api: str, start_ns: int,
              result: str, error: str | None) -> None:
        outcome.spans.append(ChildSpan(
            "thought", f"upstream.{api}", start_ns, time.time_ns(),
            {"lukhas.upstream": attempt.upstream, "lukhas.group": attempt.group,
             "lukhas.upstream_model": attempt.model, "lukhas.outcome": result,
             "lukhas.retry": attempt.retry, "lukhas.fallback": attempt.fallback}, error))


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator


def _outcome(status: int) -> str:
    if status == 429:
        return "429"
    return "5xx" if status >= 500 else "4xx"


def _transport_kind(exc: BaseException) -> FailureKind | None:
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        return FailureKind.CONNECT
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return FailureKind.TIMEOUT
    if isinstance(exc, aiohttp.ClientError | StreamBroken):
        return FailureKind.SERVER_ERROR  # the connection broke, or garbage came back
    return None

