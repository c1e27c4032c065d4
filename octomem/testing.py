"""Test helpers: a scripted LLM that runs through the real litellm path.

`ScriptedModel` is a litellm custom provider (`octomem-scripted/<name>`): octomem calls
`litellm.acompletion` exactly as it would call OpenAI or Ollama, and the provider answers
with whatever your function returns for the request - a pydantic model, a dict, a raw
string (to test malformed output) or an exception (to test timeouts and rate limits).

    def script(request: ScriptedRequest) -> Reply:
        if request.purpose == "extract":
            return ExtractionOutput(semantic=SemanticOutput(facts=[...]))
        return DecisionOutput()

    with ScriptedModel(script) as model:
        orch = Orchestrator.from_config(data_dir=tmp, llm={"model": model.model})
        orch.process("I live in Paris.", user_id="alice")
        assert model.calls("extract") == 1
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from octomem._litellm import import_litellm
from octomem.agents.registry import AGENTS
from octomem.models import MemoryType
from octomem.prompts.extraction import ExtractionOutput, ExtractionReply, RouterOutput
from octomem.prompts.reconcile import DecisionOutput

PROVIDER = "octomem-scripted"
Reply = BaseModel | dict[str, Any] | str | BaseException
_MODELS: list[type[BaseModel]] = [ExtractionOutput, RouterOutput, DecisionOutput]
_MODELS += [agent.prompt.output for agent in AGENTS.values() if agent.prompt is not None]
_OUTPUTS: dict[str, type[BaseModel]] = {model.__name__: model for model in _MODELS}
_registry: dict[str, ScriptedModel] = {}


@dataclass
class ScriptedRequest:
    """What octomem asked: the model, why (purpose), the reply type and the messages."""

    model: str
    purpose: str
    output_type: type[BaseModel] | None
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The last user message: the conversation transcript or the candidates (the text
        of its text parts, when images were sent with it)."""
        users = [m["content"] for m in self.messages if m.get("role") == "user"]
        if not users:
            return ""
        last = users[-1]
        if isinstance(last, list):
            return "".join(str(p.get("text", "")) for p in last if p.get("type") == "text")
        return str(last)

    @property
    def images(self) -> list[str]:
        """The URLs (data: URLs) of the image parts sent in the messages, in order."""
        found = []
        for message in self.messages:
            content = message.get("content")
            for part in content if isinstance(content, list) else []:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    url = part["image_url"]
                    found.append(url["url"] if isinstance(url, dict) else url)
        return found


class ScriptedModel:
    """A scripted chat model behind litellm. Use as a context manager, or install()."""

    def __init__(
        self,
        script: Callable[[ScriptedRequest], Reply],
        *,
        name: str = "default",
        native_schema: bool = True,
        vision: bool = False,
        tokens: tuple[int, int] = (120, 40),
        in_thread: bool = False,
    ) -> None:
        """`in_thread`: the async API runs `script` in a worker thread, as a model behind a
        network leaves the event loop free meanwhile (a script that blocks, on a barrier
        say, then holds up no other call); else on the event loop."""
        self.script = script
        self.in_thread = in_thread
        self.name = name
        self.model = f"{PROVIDER}/{name}"
        self.native_schema = native_schema
        self.vision = vision  # what litellm.supports_vision says of it
        self.tokens = tokens
        self.requests: list[ScriptedRequest] = []

    def calls(self, purpose: str | None = None) -> int:
        """How many completions were asked (every attempt, retries included)."""
        return sum(1 for r in self.requests if purpose is None or r.purpose == purpose)

    def install(self) -> ScriptedModel:
        litellm = import_litellm()
        _registry[self.name] = self
        if not any(p.get("provider") == PROVIDER for p in litellm.custom_provider_map):
            litellm.custom_provider_map.append(
                {"provider": PROVIDER, "custom_handler": _handler(litellm)}
            )
            litellm.custom_provider_map = list(litellm.custom_provider_map)
            _refresh_providers(litellm)
        litellm.register_model(
            {
                self.model: {
                    "litellm_provider": PROVIDER,
                    "mode": "chat",
                    "supports_response_schema": self.native_schema,
                    "supports_vision": self.vision,
                    "input_cost_per_token": 1e-6,
                    "output_cost_per_token": 2e-6,
                    "cache_creation_input_token_cost": 0.0,
                    "cache_read_input_token_cost": 0.0,
                    "max_tokens": 8192,
                }
            }
        )
        return self

    def uninstall(self) -> None:
        _registry.pop(self.name, None)

    def __enter__(self) -> ScriptedModel:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def answer(self, request: ScriptedRequest) -> str:
        self.requests.append(request)
        reply = self.script(request)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, BaseModel):
            return reply.model_dump_json()
        if isinstance(reply, dict):
            return json.dumps(reply)
        return reply


def from_extraction(
    extract: Callable[[ScriptedRequest], ExtractionReply],
    decide: Callable[[ScriptedRequest], DecisionOutput | BaseException] | None = None,
) -> Callable[[ScriptedRequest], Reply]:
    """A script for both extraction modes from one function giving the full extraction:
    single_call gets it whole, per_agent's router its agents and each agent its part."""

    def script(request: ScriptedRequest) -> Reply:
        if request.purpose == "reconcile":
            return decide(request) if decide else DecisionOutput()
        full = extract(request)
        if request.purpose == "extract":
            return full
        if request.purpose == "route":
            parts = [name for name in type(full).model_fields if name != "agents"]
            with_items = [name for name in parts if _has_items(getattr(full, name))]
            return RouterOutput(agents=list(dict.fromkeys([*full.agents, *with_items])))
        agent = MemoryType(request.purpose.split(":", 1)[1])
        return full.part(agent)

    return script


def _has_items(part: BaseModel) -> bool:
    return any(isinstance(value, list) and value for value in part.__dict__.values())


def _refresh_providers(litellm: Any) -> None:
    """litellm keeps a list of known providers; a new custom one must be on it."""
    try:
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
    except ImportError:  # older litellm: the provider list is read at call time
        if PROVIDER not in litellm.provider_list:
            litellm.provider_list.append(PROVIDER)


def _handler(litellm: Any) -> Any:
    from litellm import CustomLLM
    from litellm.types.utils import Choices, Message, ModelResponse, Usage

    class Dispatcher(CustomLLM):  # type: ignore[misc]
        def _respond(self, **call: Any) -> ModelResponse:
            # litellm calls custom handlers with keyword arguments only
            model: str = call["model"]
            model_response: ModelResponse = call["model_response"]
            optional_params: dict[str, Any] = call.get("optional_params") or {}
            scripted = _registry.get(model)
            if scripted is None:
                raise litellm.BadRequestError(
                    message=f"no ScriptedModel named {model!r} is installed",
                    model=model,
                    llm_provider=PROVIDER,
                )
            metadata = (call.get("litellm_params") or {}).get("metadata") or {}
            output_name = metadata.get("octomem_output")
            fmt = optional_params.get("response_format")
            if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
                output_name = fmt["json_schema"].get("name", output_name)
            request = ScriptedRequest(
                model=model,
                purpose=str(metadata.get("octomem_purpose", "")),
                output_type=_OUTPUTS.get(str(output_name)),
                messages=call["messages"],
                params=dict(optional_params),
            )
            content = scripted.answer(request)
            prompt_tokens, completion_tokens = scripted.tokens
            model_response.choices = [
                Choices(
                    message=Message(content=content, role="assistant"),
                    finish_reason="stop",
                    index=0,
                )
            ]
            model_response.usage = Usage(  # type: ignore[attr-defined]
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            )
            model_response.model = f"{PROVIDER}/{model}"
            model_response.created = int(time.time())
            return model_response

        def completion(self, *args: Any, **call: Any) -> ModelResponse:
            return self._respond(**call)

        async def acompletion(self, *args: Any, **call: Any) -> ModelResponse:
            scripted = _registry.get(call.get("model", ""))
            if scripted is not None and scripted.in_thread:
                return await asyncio.to_thread(self._respond, **call)
            return self._respond(**call)

    return Dispatcher()


__all__ = ["PROVIDER", "Reply", "ScriptedModel", "ScriptedRequest", "from_extraction"]
