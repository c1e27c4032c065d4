"""OpenTelemetry spans for graph nodes, agents, stores and LLM calls.

The library only uses the OpenTelemetry API: with no SDK configured every span is a
no-op and nothing leaves the machine. `configure_tracing` installs the SDK with a console
or OTLP exporter when the configuration asks for it (off by default).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from octomem.logs import get_logger
from octomem.sensitive import mask
from octomem.settings import TelemetryConfig

log = get_logger(__name__)
_tracer = trace.get_tracer("octomem")
_configured = False

AttributeValue = str | bool | int | float


def _clean(attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    clean: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        clean[f"octomem.{key}"] = (
            value if isinstance(value, str | bool | int | float) else str(value)
        )
    return clean


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span named `octomem.<name>`; exceptions are recorded (masked) and re-raised."""
    with traced(_tracer, f"octomem.{name}", _clean(attributes)) as current:
        yield current


@contextmanager
def traced(
    tracer: trace.Tracer, name: str, attributes: Mapping[str, AttributeValue]
) -> Iterator[Span]:
    """A span of `tracer` whose exception is recorded with its message and stack trace
    masked (`octomem.sensitive`): an error may quote what a caller or a store gave it (a
    value in an invalid input, a chained exception's text), and an exporter may write spans
    to disk. OpenTelemetry's own recording, which quotes them as they are, is off."""
    with tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except Exception as exc:
            if current.is_recording():  # no tracing configured: no masking work either
                message = mask(str(exc)).text
                stack = mask("".join(traceback.format_exception(exc))).text
                current.record_exception(
                    exc, {"exception.message": message, "exception.stacktrace": stack}
                )
                current.set_status(Status(StatusCode.ERROR, message))
            raise


def set_attributes(current: Span, **attributes: Any) -> None:
    current.set_attributes(_clean(attributes))


def configure_tracing(config: TelemetryConfig) -> None:
    """Install the OpenTelemetry SDK with the configured exporter (once per process)."""
    global _configured
    if config.exporter == "none" or _configured:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    exporter: SpanExporter
    if config.exporter == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=config.otlp_endpoint or None)
    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True
    log.info("tracing configured", exporter=config.exporter)
