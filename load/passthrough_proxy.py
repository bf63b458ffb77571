"""The floor for a Python gateway: a bare FastAPI pass-through of `/v1/chat/completions`.

One pooled client (keep-alive) for the whole process: an `httpx.AsyncClient`, or with
`PASSTHROUGH_TRANSPORT=aiohttp` an `aiohttp.ClientSession` (the client the façade calls
upstreams with). The request body and the
caller's `Authorization` go upstream as they came; the answer comes back as it came, whole
when it is JSON and chunk by chunk when it is an event stream. No validation, no logging, no
metrics: what any Python gateway pays at least. `bench/gateway.py` runs it with

    PASSTHROUGH_UPSTREAM=http://127.0.0.1:8100/v1 uvicorn load.passthrough_proxy:app \
        --port 8101 --http httptools --loop uvloop --no-access-log --log-level warning
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

UPSTREAM = os.environ.get("PASSTHROUGH_UPSTREAM", "http://127.0.0.1:8100/v1")
POOL = int(os.environ.get("PASSTHROUGH_POOL", "100"))
# `httpx` (its own pool) or `aiohttp` (an aiohttp session, as the façade calls upstreams):
# the floor for each client.
TRANSPORT = os.environ.get("PASSTHROUGH_TRANSPORT", "httpx")
_FORWARDED = ("authorization", "content-type", "accept")


def create_app(upstream: str = UPSTREAM, pool: int = POOL, transport: str = TRANSPORT) -> FastAPI:
    """The pass-through in front of `upstream` (an OpenAI base URL, `.../v1`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if transport == "aiohttp":
            connector = aiohttp.TCPConnector(limit=pool, limit_per_host=0, keepalive_timeout=30)
            async with aiohttp.ClientSession(
                    connector=connector, trust_env=False,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=5,
                                                  sock_read=60)) as session:
                app.state.session = session
                yield
            return
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool,
                              keepalive_expiry=30)
        async with httpx.AsyncClient(base_url=upstream.rstrip("/"), limits=limits,
                                     timeout=httpx.Timeout(60, connect=5)) as client:
            app.state.client = client
            yield

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    target = upstream.rstrip("/") + "/chat/completions"

    if transport == "aiohttp":
        @app.post("/v1/chat/completions")
        async def chat_completions_aiohttp(request: Request) -> Response:
            session: aiohttp.ClientSession = request.app.state.session
            headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
            sent = await session.post(target, data=await request.body(), headers=headers,
                                      allow_redirects=False)
            kind = sent.headers.get("content-type", "application/json")
            if kind.startswith("text/event-stream"):
                return StreamingResponse(sent.content.iter_any(), status_code=sent.status,
                                         media_type=kind,
                                         background=BackgroundTask(sent.release))
            try:
                body = await sent.read()
            finally:
                sent.release()
            return Response(body, status_code=sent.status, media_type=kind)

        return app

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        client: httpx.AsyncClient = request.app.state.client
        headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
        sent = await client.send(
            client.build_request("POST", "/chat/completions", content=await request.body(),
                                 headers=headers),
            stream=True)
        kind = sent.headers.get("content-type", "application/json")
        if kind.startswith("text/event-stream"):
            return StreamingResponse(sent.aiter_raw(), status_code=sent.status_code,
                                     media_type=kind, background=BackgroundTask(sent.aclose))
        try:
            body = await sent.aread()
        finally:
            await sent.aclose()
        return Response(body, status_code=sent.status_code, media_type=kind)

    return app


app = create_app()
