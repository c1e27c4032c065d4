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
        "octomem.recall.search",
        "octomem.agent.retrieve",
        "octomem.recall.rank",
    ):
        assert name in spans, name
    assert spans["octomem.process"].attributes["octomem.user_id"] == "alice"
    assert spans["octomem.node.normalize"].attributes["octomem.turns"] == 1
    extract = [s for s in exporter.get_finished_spans() if s.name == "octomem.agent.extract"]
    assert {s.attributes["octomem.agent"] for s in extract} >= {"semantic", "episodic"}
    assert "octomem.candidates" in extract[0].attributes


def test_a_service_request_is_a_span_with_the_audit_fields_and_no_text(tmp_path) -> None:
    import asyncio

    from fastapi.testclient import TestClient

    from octomem.service.app import create_app
    from octomem.service.keys import KeyStore
    from octomem.settings import load_settings

    exporter = _install()
    keys = KeyStore(tmp_path)
    _, key = asyncio.run(keys.create(project="default"))
    asyncio.run(keys.close())
    with TestClient(create_app(load_settings(data_dir=tmp_path))) as client:
        answer = client.post(
            "/v1/recall",
            json={"query": "zebra quartz", "user_id": "ann"},
            headers={"Authorization": f"Token {key}", "X-Request-ID": "span-1"},
        )
        assert answer.status_code == 200
    # by span id: each test's _install adds the exporter to the provider once more
    spans = {s.context.span_id: s for s in exporter.get_finished_spans()}
    [request] = [s for s in spans.values() if s.name == "octomem.http.request"]
    attributes = dict(request.attributes or {})
    assert attributes["octomem.request_id"] == "span-1"
    assert attributes["octomem.route"] == "/v1/recall"
    assert attributes["octomem.status"] == 200 and attributes["octomem.project"] == "default"
    assert attributes["octomem.key_id"] == key.split("_")[1]
    assert "zebra" not in repr(attributes)


SECRET = "Quokka7731Zephyr"


def _events(exporter: InMemorySpanExporter, name: str) -> list[str]:
    """Every exception event's attributes and the status of the spans named `name`."""
    found = [s for s in exporter.get_finished_spans() if s.name == name]
    assert found, name
    return [
        repr([dict(e.attributes or {}) for e in s.events]) + repr(s.status.description)
        for s in found
    ]


def test_an_error_quoting_a_secret_is_recorded_masked_with_its_cause() -> None:
    """An exporter may write spans to disk: the error's message, its status and its stack
    trace (with the message of the exception it was raised from) are masked."""
    import pytest

    from octomem.errors import InvalidInputError
    from octomem.telemetry import span

    exporter = _install()
    with pytest.raises(InvalidInputError), span("masking.probe"):
        try:
            raise ValueError(f"token: {SECRET}")
        except ValueError as exc:
            raise InvalidInputError(f"role 'my password is {SECRET}' is not a role") from exc
    # each test's _install adds the exporter once more: the same span may be there twice
    for recorded in _events(exporter, "octomem.masking.probe"):
        assert SECRET not in recorded
        assert "[MASKED" in recorded and "ValueError" in recorded


def test_an_error_echoing_a_secret_is_masked_in_spans_and_in_the_services_answer(
    orch,
) -> None:
    """The library quotes a bad value back (a message's role): the spans of the failed call
    and the service's problem body hold it masked."""
    import json

    import pytest

    from octomem.errors import InvalidInputError
    from octomem.service.problems import for_error

    exporter = _install()
    message = {"role": f"my password is {SECRET}", "content": "hi"}
    with pytest.raises(InvalidInputError, match="is not one of user") as caught:
        orch.process([message], user_id="ann")
    assert SECRET in str(caught.value)  # the caller's own exception says what it got
    recorded = [
        repr([dict(e.attributes or {}) for e in s.events]) + repr(s.status.description)
        for s in exporter.get_finished_spans()
        if s.events
    ]
    assert recorded and all(SECRET not in text for text in recorded)
    body = json.loads(for_error(caught.value).body)
    assert body["status"] == 422 and "[MASKED password]" in body["detail"]
    assert SECRET not in body["detail"]
