"""LLM access: the LLMClient protocol and its litellm implementation.

- structured output into `LLMOutput` models in the style of `llm.structured_output`
  (`octomem.llm_schema`); a reply that does not validate gets one repair attempt;
- retries with exponential backoff on rate limits, timeouts, connection errors and 5xx,
  and vendor errors mapped to `LLMError`;
- calls, tokens and cost of every attempt counted into a `UsageMeter` and the span.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, get_args, runtime_checkable

from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from octomem._litellm import import_litellm, require_litellm
from octomem.errors import InvalidInputError, LLMError
from octomem.llm_schema import LLMOutput, Message, Style, structured_request
from octomem.logs import get_logger
from octomem.models import LLMUsage
from octomem.sensitive import secrets_across
from octomem.settings import LLMConfig
from octomem.telemetry import set_attributes, span
from octomem.validation import MAX_PARSE_DEPTH, MAX_VALUE_CHARS, clean_text, json_depth

log = get_logger(__name__)
T = TypeVar("T", bound=LLMOutput)

# what one reply may hold: a reply is attacker-controlled text (a prompt injection in the
# conversation can make a model say anything), and every item of it becomes a write
MAX_REPLY_CHARS = 1_000_000
MAX_REPLY_ITEMS = 200  # per list: far more than a chunk of llm.chunk_tokens ever holds
# the memories one extraction reply may give for each turn it reads: so many, and one more
# per so many characters of the turn ("ok" gives at most 50, not 6 lists of 200)
MAX_REPLY_ITEMS_PER_TURN, REPLY_CHARS_PER_ITEM = 50, 20
MAX_REPLY_STRING = MAX_VALUE_CHARS  # per string, as per message (input.max_message_chars)

_TRANSIENT = (
    "RateLimitError",
    "Timeout",
    "APIConnectionError",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
)
_HINTS = {
    "AuthenticationError": "check the provider's API key (environment or llm.extra.api_key)",
    "NotFoundError": "check llm.model, e.g. 'openai/gpt-4.1-mini' or 'ollama/llama3.1:8b'",
    "BadRequestError": "the provider rejected the request; check llm.model and llm.extra",
    "ContextWindowExceededError": "the conversation chunk is too long: lower llm.chunk_tokens",
    "RateLimitError": "rate limited past llm.max_retries retries; try again later",
    "Timeout": "timed out past llm.max_retries retries; raise llm.timeout_s",
    "APIConnectionError": "cannot reach the provider; check llm.extra.api_base / the network",
}


class UsageMeter:
    """Counts calls, tokens and cost of one operation (e.g. one process())."""

    def __init__(self) -> None:
        self.usage = LLMUsage()

    def add(self, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        self.usage.calls += 1
        self.usage.prompt_tokens += prompt_tokens
        self.usage.completion_tokens += completion_tokens
        self.usage.cost_usd += cost


@runtime_checkable
class LLMClient(Protocol):
    model: str

    async def structured(
        self,
        messages: list[Message],
        output: type[T],
        *,
        purpose: str,
        meter: UsageMeter | None = None,
    ) -> T:
        """One completion whose reply is parsed and validated into `output`."""
        ...


def _is_transient(exc: BaseException) -> bool:
    return any(cls.__name__ in _TRANSIENT for cls in type(exc).__mro__)


@dataclass
class LiteLLMClient:
    """An LLMClient for any model litellm supports (`provider/model` strings)."""

    config: LLMConfig
    model: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.config.model:
            raise LLMError("LiteLLMClient needs llm.model (a litellm model string)")
        require_litellm(f"llm.model {self.config.model!r}")
        self.model = self.config.model

    def style(self) -> Style:
        """The structured-output style of `llm.structured_output`, `auto` resolved."""
        style = self.config.structured_output
        if style != "auto":
            return style
        return "json_schema" if self._supports("response_schema") else "json_object"

    def supports_vision(self) -> bool:
        """Whether litellm knows the model to take images (False for a model it does not
        know: `media.vision: on` sends them anyway)."""
        return self._supports("vision")

    def _supports(self, feature: str) -> bool:
        check = getattr(import_litellm(), f"supports_{feature}")
        try:
            return bool(check(model=self.model))
        except Exception:
            return False

    async def structured(
        self,
        messages: list[Message],
        output: type[T],
        *,
        purpose: str,
        meter: UsageMeter | None = None,
    ) -> T:
        if not (isinstance(output, type) and issubclass(output, LLMOutput)):
            # its schema would not be strict: OpenAI strict mode and Azure reject it
            raise InvalidInputError(f"structured output must derive from LLMOutput, not {output!r}")
        messages, response_format = structured_request(self.style(), messages, output)
        reply = await self._complete(messages, response_format, output, purpose, meter)
        try:
            return _parse(reply, output)
        except (ValidationError, ValueError) as first:
            log.warning(
                "llm output did not validate; asking once to repair",
                purpose=purpose,
                model=self.model,
                error=_problem(first)[:300],
            )
            repair = [
                *messages,
                {"role": "assistant", "content": reply},
                {
                    "role": "user",
                    "content": "That reply was not valid: "
                    f"{str(first)[:1500]}\nReply again with only the corrected JSON object.",
                },
            ]
            held = bool(secrets_across([reply], joined=False))
            try:
                reply = await self._complete(repair, response_format, output, purpose, meter)
            except LLMError as exc:
                raise InvalidReply(str(exc), holds_secret=held) from exc
            try:
                return _parse(reply, output)
            except (ValidationError, ValueError) as second:
                raise InvalidReply(
                    f"{self.model} returned output that does not match {output.__name__} "
                    f"twice ({purpose}): {_problem(second)[:300]}",
                    holds_secret=held or bool(secrets_across([reply], joined=False)),
                ) from second

    async def _complete(
        self,
        messages: list[Message],
        response_format: Any,
        output: type[BaseModel],
        purpose: str,
        meter: UsageMeter | None,
    ) -> str:
        litellm = import_litellm()
        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "response_format": response_format,
            "timeout": self.config.timeout_s,
            "num_retries": 0,  # retries are ours, so every attempt is counted
            "metadata": {"octomem_purpose": purpose, "octomem_output": output.__name__},
            **self.config.extra,
        }
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=wait_exponential(multiplier=0.5, max=8),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt, span("llm.call", model=self.model, purpose=purpose) as current:
                    try:
                        response = await litellm.acompletion(**params)
                    except Exception:
                        if meter is not None:
                            meter.add(0, 0, 0.0)  # a failed attempt is a call too
                        raise
                    usage = getattr(response, "usage", None)
                    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
                    completion = int(getattr(usage, "completion_tokens", 0) or 0)
                    cost = _cost(litellm, response)
                    if meter is not None:
                        meter.add(prompt, completion, cost)
                    set_attributes(
                        current, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost
                    )
                    content = response.choices[0].message.content
                    return str(content or "")
        except Exception as exc:
            raise _as_llm_error(exc, self.model, purpose) from exc
        raise LLMError(f"{self.model}: no attempt was made ({purpose})")  # pragma: no cover


class InvalidReply(LLMError):
    """The model's replies did not fit the output; `holds_secret`: whether masking found a
    secret in one (the model read it in what it was shown: an image, `originals.settle`)."""

    def __init__(self, message: str, *, holds_secret: bool) -> None:
        super().__init__(message)
        self.holds_secret = holds_secret


def _parse(reply: str, output: type[T]) -> T:
    """The reply as `output`, raw line breaks inside strings (small models write them)
    accepted; ValueError (a pydantic ValidationError included) if it does not fit."""
    text = reply.strip()
    if len(text) > MAX_REPLY_CHARS:
        raise ValueError(
            f"the reply is {len(text):,} characters long; the limit is {MAX_REPLY_CHARS:,}"
        )
    if text.startswith("```"):  # models in JSON mode sometimes fence their reply
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    depth = json_depth(text, at_most=MAX_PARSE_DEPTH)
    if depth > MAX_PARSE_DEPTH:  # checked before parsing: the parser recurses
        raise ValueError(
            f"the reply is nested {depth:,} levels deep; the limit is {MAX_PARSE_DEPTH}"
        )
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not JSON: {exc}") from None
    _check_keys(data, output)
    return output.model_validate(_clean_strings(data))


def _check_keys(data: Any, output: type[BaseModel]) -> None:
    """ValueError for an object none of whose keys is one of `output`'s, at any depth (an
    agent's part of a single_call reply, an item of a list): every field has a default,
    so another schema's reply (`{"answer": ...}`) would validate as an empty one, and its
    turns count as read. `{}` is an empty reply; the error names no key the model wrote
    (a key may hold anything)."""
    if not isinstance(data, dict):
        return
    fields = output.model_fields
    expected = set(fields) | {f.alias for f in fields.values() if f.alias}
    if data and not expected.intersection(data):
        raise ValueError(
            f"the reply's object has none of the keys of {output.__name__} "
            f"({', '.join(sorted(expected))})"
        )
    for name, info in fields.items():
        value = data.get(info.alias or name)
        for model in _models_of(info.annotation):
            for item in value if isinstance(value, list) else [value]:
                _check_keys(item, model)


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's type holds: `Part`, `list[Part]`, `Part | None`."""
    return [
        kind
        for kind in (annotation, *get_args(annotation))
        if isinstance(kind, type) and issubclass(kind, BaseModel)
    ]


def _problem(exc: ValueError) -> str:
    """What is wrong with a reply, for a log line or an error message: where and what, never
    the values it holds (pydantic's message quotes them; the reply to a call shown images
    may hold a secret read in one, and it is masked only once it validates)."""
    if not isinstance(exc, ValidationError):
        return str(exc)  # not JSON: a position, or a lone surrogate's position
    problems = exc.errors(include_url=False, include_input=False, include_context=False)
    listed = "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'the reply'}: {e['msg']}" for e in problems
    )
    return f"{exc.error_count()} validation error(s) for {exc.title}: {listed}"


def _clean_strings(value: Any) -> Any:
    """`value` with its strings cleaned, within the MAX_REPLY_ limits; an error names no
    key of the reply (a key may hold anything the model wrote)."""
    if isinstance(value, str):
        if len(value) > MAX_REPLY_STRING:
            raise ValueError(
                f"a string in the reply has {len(value):,} characters; the limit "
                f"is {MAX_REPLY_STRING:,}"
            )
        return clean_text(value, "the reply")
    if isinstance(value, list):
        if len(value) > MAX_REPLY_ITEMS:
            raise ValueError(
                f"a list in the reply has {len(value):,} items; the limit is {MAX_REPLY_ITEMS}"
            )
        return [_clean_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: _clean_strings(item) for key, item in value.items()}
    return value


def _cost(litellm: Any, response: Any) -> float:
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # models missing from litellm's price map cost nothing we know of
        return 0.0


def _as_llm_error(exc: Exception, model: str, purpose: str) -> LLMError:
    if isinstance(exc, LLMError):
        return exc
    name = next((c.__name__ for c in type(exc).__mro__ if c.__name__ in _HINTS), None)
    hint = _HINTS.get(name or "", "see the chained exception")
    first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return LLMError(f"{model} failed ({purpose}): {first_line} - {hint}")
