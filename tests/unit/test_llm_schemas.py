"""Every response model's schema, as litellm sends it, within OpenAI's strict subset.

The models are found, not listed: every subclass of `LLMOutput` in any octomem module
(and `LiteLLMClient.structured` refuses anything else), so a new response model is
checked the day it is added.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from typing import Any

import pytest
from litellm.utils import type_to_response_format_param
from pydantic import BaseModel, Field

import octomem
from octomem import ConfigurationError, InvalidInputError
from octomem.agents import AGENTS
from octomem.llm import LiteLLMClient
from octomem.llm_schema import LLMOutput, response_schema, structured_request
from octomem.prompts.extraction import ExtractionOutput, RouterOutput
from octomem.prompts.reconcile import DecisionOutput
from octomem.settings import LLMConfig, load_settings

# OpenAI structured outputs, strict mode, as older snapshots and Azure OpenAI accept it:
# no `default`, no string/number/array/object constraints (minLength, pattern, format,
# minimum, minItems, patternProperties...), no allOf/not/if. Written out here rather
# than imported, so that widening the code's list cannot pass this test by itself.
ALLOWED = {
    "type",
    "description",
    "title",
    "enum",
    "const",
    "items",
    "anyOf",
    "properties",
    "required",
    "additionalProperties",
    "$ref",
    "$defs",
}
MAX_DEPTH = 5  # levels of object nesting
MAX_PROPERTIES = 100  # object properties in the whole schema


def _all_models() -> list[type[LLMOutput]]:
    for info in pkgutil.walk_packages(octomem.__path__, "octomem."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found: list[type[LLMOutput]] = []
    todo = list(LLMOutput.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return sorted(set(found), key=lambda m: f"{m.__module__}.{m.__qualname__}")


MODELS = _all_models()


def violations(schema: dict[str, Any]) -> list[str]:
    """What keeps a JSON schema out of the strict subset, one line per problem."""
    problems: list[str] = []
    defs = schema.get("$defs", {})

    def resolve(ref: str) -> dict[str, Any]:
        return dict(defs[ref.removeprefix("#/$defs/")])

    def walk(node: dict[str, Any], path: str, depth: int, seen: frozenset[str]) -> None:
        for key in node:
            if key not in ALLOWED:
                problems.append(f"{path}: keyword {key!r} is not supported")
        if "$ref" in node:
            ref = node["$ref"]
            if len(node) > 1:
                problems.append(f"{path}: $ref with sibling keywords")
            if not ref.startswith("#/$defs/") or ref.removeprefix("#/$defs/") not in defs:
                problems.append(f"{path}: $ref {ref} does not resolve")
            elif ref not in seen:  # recursion is allowed; follow each ref once per branch
                walk(resolve(ref), ref, depth, seen | {ref})
            return
        if node.get("type") == "object" or "properties" in node:
            depth += 1
            if depth > MAX_DEPTH:
                problems.append(f"{path}: objects nested deeper than {MAX_DEPTH}")
            properties = node.get("properties", {})
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties is not false")
            if sorted(node.get("required", [])) != sorted(properties):
                problems.append(f"{path}: not every property is required")
            for name, sub in properties.items():
                walk(sub, f"{path}.{name}", depth, seen)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", depth, seen)
        for i, sub in enumerate(node.get("anyOf", [])):
            walk(sub, f"{path}|{i}", depth, seen)

    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("root: must be an object, not a union")
    for name, sub in defs.items():
        walk(sub, f"$defs.{name}", 0, frozenset({f"#/$defs/{name}"}))
    walk({k: v for k, v in schema.items() if k != "$defs"}, "root", 0, frozenset())

    def count(node: Any) -> int:
        if isinstance(node, list):
            return sum(count(v) for v in node)
        if not isinstance(node, dict):
            return 0
        own = len(node["properties"]) if isinstance(node.get("properties"), dict) else 0
        return own + sum(count(v) for v in node.values())

    if count(schema) > MAX_PROPERTIES:
        problems.append(f"more than {MAX_PROPERTIES} properties in all")
    return problems


def test_the_models_passed_to_structured_are_found() -> None:
    called = {ExtractionOutput, RouterOutput, DecisionOutput}
    called |= {agent.prompt.output for agent in AGENTS.values() if agent.prompt is not None}
    assert called <= set(MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_schema_litellm_sends_is_strict(model: type[LLMOutput]) -> None:
    sent = type_to_response_format_param(model)
    assert sent is not None and sent["type"] == "json_schema"
    assert sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["name"] == model.__name__
    assert violations(sent["json_schema"]["schema"]) == []


def test_the_checker_catches_what_providers_reject() -> None:
    class Loose(BaseModel):
        name: str = Field("x", max_length=5)
        tags: dict[str, str] = Field(default_factory=dict)

    problems = violations(type_to_response_format_param(Loose)["json_schema"]["schema"])  # type: ignore[index]
    assert any("'default'" in p for p in problems)
    assert any("'maxLength'" in p for p in problems)
    assert any("additionalProperties" in p for p in problems)


def test_strict_schema_keeps_python_defaults_and_constraints() -> None:
    class Sample(LLMOutput):
        name: str = Field("unknown", max_length=10)
        note: str | None = None
        count: int = Field(0, ge=0)

    schema = Sample.model_json_schema()
    assert violations(schema) == []
    assert schema["required"] == ["name", "note", "count"]
    assert schema["properties"]["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert "unknown" in schema["properties"]["name"]["description"]  # the hint stays
    # the Python side is unchanged: defaults fill in, constraints are still checked
    assert Sample.model_validate({}) == Sample(name="unknown", note=None, count=0)
    assert ExtractionOutput.model_validate({}) == ExtractionOutput()
    with pytest.raises(ValueError, match="at most 10"):
        Sample.model_validate({"name": "much too long for it"})


def test_dict_fields_have_no_strict_schema() -> None:
    class Open(LLMOutput):
        tags: dict[str, str]

    with pytest.raises(InvalidInputError, match="dict fields"):
        Open.model_json_schema()


def test_structured_refuses_models_without_a_strict_schema() -> None:
    class Plain(BaseModel):
        value: str = "x"

    client = LiteLLMClient(LLMConfig(model="openai/gpt-4.1-mini"))
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(InvalidInputError, match="LLMOutput"):
        asyncio.run(client.structured(messages, Plain, purpose="test"))  # type: ignore[type-var]


def test_structured_output_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().llm.structured_output == "auto"
    monkeypatch.setenv("OCTOMEM_LLM__STRUCTURED_OUTPUT", "grammar")
    with pytest.raises(ConfigurationError, match=r"llm\.structured_output"):
        load_settings()


@pytest.mark.parametrize("provider", ["openai", "hosted_vllm"])
def test_json_object_schema_reaches_openai_compatible_servers_unchanged(provider: str) -> None:
    """llama.cpp's server behind `openai/` or `hosted_vllm/`: litellm must not drop the
    `schema` key, or the server would only be in JSON mode."""
    from litellm.utils import get_optional_params

    messages = [{"role": "user", "content": "hi"}]
    _, sent = structured_request("json_object_schema", messages, RouterOutput)
    params = get_optional_params(model="local", custom_llm_provider=provider, response_format=sent)
    assert params["response_format"] == {
        "type": "json_object",
        "schema": response_schema(RouterOutput),
    }


def test_json_schema_becomes_ollamas_format() -> None:
    """litellm's ollama providers pass a json_schema as Ollama's `format` (the README
    advises json_schema for them) but reduce json_object_schema to `format: "json"`."""
    from litellm.utils import get_optional_params

    messages = [{"role": "user", "content": "hi"}]
    for provider in ("ollama", "ollama_chat"):
        native = get_optional_params(
            model="llama3.1:8b", custom_llm_provider=provider, response_format=RouterOutput
        )
        assert native["format"] == response_schema(RouterOutput)
        _, sent = structured_request("json_object_schema", messages, RouterOutput)
        other = get_optional_params(
            model="llama3.1:8b", custom_llm_provider=provider, response_format=sent
        )
        assert other["format"] == "json"
