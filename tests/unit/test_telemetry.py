"""Spans for graph nodes, agents and store writes, with scope and counts as attributes."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_exporter = InMemorySpanExporter()


def _install() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    _exporter.clear()
    return _exporter


def test_process_and_recall_emit_spans(orch) -> None:
    exporter = _install()
    orch.process("I'm Alice and I live in Paris.", user_id="alice", session_id="s1")
    orch.recall("where does alice live", user_id="alice")

    spans = {span.name: span for span in exporter.get_finished_spans()}
    for name in (
        "octomem.process",
        "octomem.node.normalize",
        "octomem.node.store_turns",
        "octomem.node.route",
        "octomem.agent.extract",
        "octomem.node.commit",
        "octomem.store.write",
        "octomem.recall",
        "octomem.recall.plan",
        "octomem.agent.retrieve",
        "octomem.recall.rank",
    ):
        assert name in spans, name
    assert spans["octomem.process"].attributes["octomem.user_id"] == "alice"
    assert spans["octomem.node.normalize"].attributes["octomem.turns"] == 1
    extract = [s for s in exporter.get_finished_spans() if s.name == "octomem.agent.extract"]
    assert {s.attributes["octomem.agent"] for s in extract} >= {"semantic", "episodic"}
    assert "octomem.candidates" in extract[0].attributes
