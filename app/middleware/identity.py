"""Resolve the caller from `Authorization: Bearer <credential>`; 401 in the envelope if not.

Probes, metrics and the OpenAPI document are public. The identity goes into
`request.state.identity`, where each route's `require(scope)` dependency reads it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import APIError, AuthenticationFailed, error_response
from app.identity.base import IdentityChain

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"})


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            header: str = value.decode("latin-1")
            scheme, _, credential = header.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
            return None
    return None


class IdentityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        credential = _bearer(scope)
        if credential is None:
            error = AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
                code="missing_api_key",
            )
            await error_response(error)(scope, receive, send)
            return
        identities: IdentityChain = scope["app"].state.lukhas.identities
        try:
            identity = await identities.resolve(credential)
        except APIError as failed:  # a ΛiD check failed (401), or its store is down (503)
            await error_response(failed)(scope, receive, send)
            return
        if identity is None:
            error = AuthenticationFailed("Incorrect API key provided.", code="invalid_api_key")
            await error_response(error)(scope, receive, send)
            return
        scope.setdefault("state", {})["identity"] = identity
        await self.app(scope, receive, send)
