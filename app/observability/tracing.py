"""OpenTelemetry tracing, on when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`
or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).

On, the FastAPI instrumentation traces every request (sampling per the standard
`OTEL_TRACES_SAMPLER` variables, default every trace), the pipeline adds a `matriz.<stage>`
span per stage, spans go out over OTLP/HTTP, and log lines carry the trace id. Off, nothing
would read a span, so none is made: the instrumentation alone costs about a fifth of a
request's time on the built-in model. Log lines then carry the trace id of an incoming W3C
`traceparent` header, if there is one, and always the request id.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF


def tracing_enabled() -> bool:
    """True when an OTLP endpoint is configured."""
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def make_tracer_provider(service_name: str = "lukhas-facade") -> TracerProvider:
    """A tracer provider exporting over OTLP/HTTP, or one that records nothing."""
    resource = Resource.create({"service.name": service_name})
    if not tracing_enabled():
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
