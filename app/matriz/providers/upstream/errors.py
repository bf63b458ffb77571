"""What an upstream failure looks like to our caller.

- The upstream refused the request (400, 413, 422): our 400 with its message (never retried).
- Every attempt failed with 429: our 429 with the upstream's `retry-after`.
- Every attempt failed otherwise, or the upstream answered something we cannot pass on (401,
  404: a configuration problem of ours, not the caller's): 502 `upstream_error`,
  `x-should-retry: true` (the failures may pass).
- The route's deadline ran out, or the last attempt timed out reading: 504 `upstream_timeout`,
  `x-should-retry: false`: the deadline was the caller's whole budget and the gateway already
  spent it on retries and fallbacks; an SDK retry on top would multiply the wait and the load
  on hanging servers.
- The upstream broke off after the answer had started: 502 `upstream_error`, sent as the
  stream's terminal event (`response.failed`, or a chat error chunk).
"""

from __future__ import annotations

from app.errors import APIError, InvalidRequest


class UpstreamError(APIError):
    status_code = 502
    default_code = "upstream_error"
    retryable = True


class UpstreamTimeout(APIError):
    status_code = 504
    default_code = "upstream_timeout"
    retryable = False


class UpstreamDied(UpstreamError):
    """The upstream's stream ended abnormally after the answer had started."""


def upstream_bad_request(message: str, param: str | None, code: str | None) -> InvalidRequest:
    """The upstream's own 400, passed on with its message."""
    return InvalidRequest(message, param=param, code=code)
