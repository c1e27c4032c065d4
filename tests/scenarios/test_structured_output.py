"""`llm.structured_output`: what each provider style sends as `response_format`, and that
replies parse, validate and get stored in each - through the real litellm path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from octomem import MemoryType, Orchestrator
from octomem.agents.semantic.prompt import Fact, SemanticOutput
from octomem.llm_schema import response_schema
from octomem.prompts.extraction import ExtractionOutput
from octomem.prompts.reconcile import DecisionOutput
from octomem.testing import ScriptedModel, ScriptedRequest, from_extraction
from tests.conftest import T0

# (llm.structured_output, does litellm say the model takes a native schema, style sent)
STYLES = [
    ("json_schema", True, "json_schema"),
    ("json_schema", False, "json_schema"),  # forced: litellm's model map may lag behind
    ("json_object", True, "json_object"),
    ("json_object_schema", True, "json_object_schema"),
    ("json_object_schema", False, "json_object_schema"),
    ("auto", True, "json_schema"),
    ("auto", False, "json_object"),
]


def _city(request: ScriptedRequest) -> ExtractionOutput:
    city = "Berlin" if "Berlin" in request.prompt else "Paris"
    fact = Fact(
        subject="user",
        attribute="lives_in",
        value=city,
        statement=f"Alice lives in {city}.",
        source_turns=[0],
    )
    return ExtractionOutput(agents=[MemoryType.SEMANTIC], semantic=SemanticOutput(facts=[fact]))


@pytest.fixture
def scripted(make_orch) -> Iterator[Callable[..., tuple[Orchestrator, ScriptedModel]]]:
    models: list[ScriptedModel] = []

    def make(script: Any, *, native: bool, **llm: Any) -> tuple[Orchestrator, ScriptedModel]:
        model = ScriptedModel(script, name=f"styles{len(models)}", native_schema=native)
        models.append(model.install())
        orch = make_orch(llm={"model": model.model, "max_retries": 0, **llm})
        return orch, model

    yield make
    for model in models:
        model.uninstall()


def expected_format(style: str, request: ScriptedRequest) -> dict[str, Any]:
    assert request.output_type is not None
    schema = response_schema(request.output_type)
    if style == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"schema": schema, "name": request.output_type.__name__, "strict": True},
        }
    if style == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


@pytest.mark.parametrize(("setting", "native", "style"), STYLES)
def test_each_style_sends_its_format_and_replies_validate(
    scripted, setting: str, native: bool, style: str
) -> None:
    orch, model = scripted(from_extraction(_city), native=native, structured_output=setting)
    orch.process("I live in Paris.", user_id="alice", timestamp=T0)
    result = orch.process("I moved to Berlin.", user_id="alice", timestamp=T0 + timedelta(days=3))

    assert result.extraction == "single_call" and not result.errors
    assert [f.value for f in orch.get_all(user_id="alice", memory_types=["semantic"])] == ["Berlin"]
    # extraction twice, then the reconcile call: both reply models, each in the style
    assert [r.output_type for r in model.requests] == [
        ExtractionOutput,
        ExtractionOutput,
        DecisionOutput,
    ]
    for request in model.requests:
        assert request.params["response_format"] == expected_format(style, request)
        # the schema is in the prompt exactly when the format does not carry it natively
        assert ("JSON schema:" in request.prompt) == (style != "json_schema")


def test_repair_keeps_the_style(scripted) -> None:
    good = from_extraction(_city)
    answered: list[str] = []

    def script(request: ScriptedRequest) -> Any:
        if request.purpose == "extract" and not answered:
            answered.append("cut off")
            return '{"semantic": {"facts": [{"subject": "user"'
        return good(request)

    orch, model = scripted(script, native=False, structured_output="json_object_schema")
    result = orch.process("I live in Paris.", user_id="alice")
    assert result.extraction == "single_call" and not result.errors
    first, repair = model.requests[:2]
    assert "not valid" in repair.prompt  # the validation error went back to the model
    assert repair.params["response_format"] == first.params["response_format"]
    assert repair.params["response_format"]["schema"] == response_schema(ExtractionOutput)


def test_invalid_twice_falls_back_in_any_style(scripted) -> None:
    orch, model = scripted(lambda r: "no JSON here", native=True, structured_output="json_schema")
    result = orch.process("I'm Alice and I live in Paris.", user_id="alice")
    assert result.extraction == "offline_fallback" and result.errors
    assert model.calls("extract") == 2  # the call and its one repair
    assert [
        f.value
        for f in orch.get_all(user_id="alice", memory_types=["semantic"])
        if f.attribute == "lives_in"
    ] == ["Paris"]
