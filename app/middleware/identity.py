"""Resolve the caller from `Authorization: Bearer <credential>`; 401 in the envelope if not.
A WebSocket is resolved from its upgrade request the same way, and a refusal is the answer to
its handshake (no socket is opened).

Probes, metrics, the OpenAPI document and the login itself (`/v1/identity/authenticate`,
which takes a username and password instead) are public. The identity goes into
`request.state.identity`, where each route's `require(scope)` dependency reads it.

A credential that fails is counted by the failure throttle (app/identity/throttle.py) per
client address and per key id; past the limit the answer is 429 instead of 401. A valid
credential never touches the throttle.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import APIError, AuthenticationFailed, refuse
from app.identity.throttle import AuthThrottle, address_key, credential_key

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc",
                          "/v1/identity/authenticate"})
SURFACE = "credential"


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
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        credential = _bearer(scope)
        if credential is None:
            error = AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
                code="missing_api_key",
            )
            await refuse(error, scope, receive, send)
            return
        state = scope["app"].state.lukhas
        try:
            identity = await state.identities.resolve(credential)
        except AuthenticationFailed as failed:  # a ΛiD check failed
            await self._refuse(scope, receive, send, state.auth_throttle, credential, failed)
            return
        except APIError as unavailable:  # its store is down (503): not the caller's failure
            await refuse(unavailable, scope, receive, send)
            return
        if identity is None:
            error = AuthenticationFailed("Incorrect API key provided.", code="invalid_api_key")
            await self._refuse(scope, receive, send, state.auth_throttle, credential, error)
            return
        scope.setdefault("state", {})["identity"] = identity
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, throttle: AuthThrottle,
                      credential: str, failed: APIError) -> None:
        refusal = await throttle.failed(SURFACE, address_key(scope.get("client")),
                                        credential_key(credential))
        await refuse(refusal or failed, scope, receive, send)
