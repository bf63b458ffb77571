"""OpenTelemetry: a tracer provider per app, OTLP export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

With an exporter, sampling follows the standard `OTEL_TRACES_SAMPLER` variables (default:
every trace). Without one, nothing would ever read a span, so none is recorded: spans are
still started, so every request has a trace id (in its logs, and propagated downstream), but
they cost almost nothing.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased


def exporting() -> bool:
    """True when an OTLP endpoint is configured."""
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def make_tracer_provider(service_name: str = "lukhas-facade") -> TracerProvider:
    """A tracer provider, exporting over OTLP/HTTP when configured."""
    resource = Resource.create({"service.name": service_name})
    if not exporting():
        return TracerProvider(resource=resource, sampler=ParentBased(root=ALWAYS_OFF))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
