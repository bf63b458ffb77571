"""The middleware stack, in one place. Outermost first:

OpenTelemetry (when tracing is on; wraps everything, added by its instrumentor) →
request id → CORS → header limit → body limit → `/v1` alias → Prometheus HTTP metrics →
identity → rate limit → Guardian (kill switch, request policy) → routes.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.middleware.cors import CORSMiddleware

from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.guardian import GuardianMiddleware
from app.middleware.header_limit import HeaderLimitMiddleware
from app.middleware.http_metrics import HttpMetrics, HttpMetricsMiddleware
from app.middleware.identity import IdentityMiddleware
from app.middleware.rate_limit import RateLimitMiddleware
from app.middleware.request_id import RequestIdMiddleware
from app.middleware.v1_alias import V1AliasMiddleware
from app.observability.tracing import tracing_enabled
from app.settings import Settings

# Headers the OpenAI SDKs send; a browser client needs them allowed.
_SDK_HEADERS = ["authorization", "content-type", "openai-organization", "openai-project",
                "x-request-id", "x-stainless-arch", "x-stainless-lang",
                "x-stainless-os", "x-stainless-package-version", "x-stainless-retry-count",
                "x-stainless-runtime", "x-stainless-runtime-version", "x-stainless-timeout",
                "x-stainless-read-timeout", "x-lukhas-session"]

# 0.8 s and 1.2 s are the SLO thresholds (configs/observability/slo_budgets.yaml): a burn-rate
# rule can only count requests under a threshold that is a bucket bound.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 1.2, 2.5,
                    5.0, 10.0)


def register_middleware(
    app: FastAPI, settings: Settings, registry: CollectorRegistry, tracer: TracerProvider
) -> None:
    """Add the middleware, innermost first (Starlette makes the last added outermost)."""
    app.add_middleware(GuardianMiddleware)
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(IdentityMiddleware)
    # The instrumentator's HTTP metrics, two of them, not the default four (whose 21-bucket
    # histogram and size metrics cost time on every request): a request counter and a
    # latency histogram, by route template; recorded by a lean middleware of our own. The
    # instrumentator serves /metrics.
    app.add_middleware(HttpMetricsMiddleware, excluded_handlers=["/metrics"],
                       metrics=HttpMetrics(registry, _LATENCY_BUCKETS))
    Instrumentator(registry=registry).expose(app, endpoint="/metrics", include_in_schema=False)
    app.add_middleware(V1AliasMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes,
                       timeout_s=settings.body_timeout_seconds)
    app.add_middleware(HeaderLimitMiddleware, max_bytes=settings.max_header_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
            allow_headers=_SDK_HEADERS, expose_headers=["x-request-id", "retry-after"],
        )
    app.add_middleware(RequestIdMiddleware, access_log=settings.access_log)
    if tracing_enabled():
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracer, exclude_spans=["receive", "send"],
            excluded_urls="healthz,readyz,metrics",
        )
