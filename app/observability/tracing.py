"""OpenTelemetry: a tracer provider per app, OTLP export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

Without an endpoint spans are still made (so logs carry a trace id) but not exported.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def make_tracer_provider(service_name: str = "lukhas-facade") -> TracerProvider:
    """A tracer provider, exporting over OTLP/HTTP when configured."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
