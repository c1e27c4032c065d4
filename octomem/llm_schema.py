"""Strict JSON schemas for the models an LLM replies in.

OpenAI's structured outputs in strict mode (and Azure OpenAI, which rejects
"'default' is not permitted") accept only a subset of JSON Schema: every property
required, `additionalProperties: false` on every object, no `default`, and none of the
validation keywords (`minLength`, `pattern`, `format`, `minimum`, `minItems`...). A
schema outside that subset makes every call fail, so every reply would fall back to
the rules.

Response models derive from `LLMOutput`, whose `model_json_schema()` is that strict
schema. Fields keep their defaults in Python (a missing key still validates); only the
schema shown to providers is strict - an optional field is required but nullable there.
litellm builds the `response_format` it sends from `model_json_schema()`, so what is sent
is strict too.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from octomem.errors import InvalidInputError

Style = Literal["json_schema", "json_object", "json_object_schema"]
Message = dict[str, Any]  # role, and content: a string or a list of parts (text, image_url)

# the keywords OpenAI's strict mode supports on every snapshot (Azure included);
# `title` is accepted but left out: it is noise in the prompt
STRICT_KEYWORDS = frozenset(
    {
        "type",
        "description",
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
)


class LLMOutput(BaseModel):
    """Base of every model passed as `output` to `LLMClient.structured`."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return strict_schema(super().model_json_schema(*args, **kwargs))


def strict_schema(node: dict[str, Any], path: str = "#") -> dict[str, Any]:
    """A copy of a pydantic JSON schema within the strict subset: unsupported keywords
    (`default`, `title`, length/range/format constraints) dropped, every object closed
    (`additionalProperties: false`) with all its properties required. Constraints that
    are dropped are still checked by pydantic when the reply is validated."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in STRICT_KEYWORDS:
            continue
        if key in ("properties", "$defs"):
            out[key] = {
                name: strict_schema(sub, f"{path}/{key}/{name}") for name, sub in value.items()
            }
        elif key == "items":
            out[key] = strict_schema(value, f"{path}/items")
        elif key == "anyOf":
            out[key] = [strict_schema(sub, f"{path}/anyOf/{i}") for i, sub in enumerate(value)]
        elif key == "additionalProperties" and value is not False:
            # dict[str, X] has no strict form: the model could only ever answer {}
            raise InvalidInputError(
                f"{path}: open objects (dict fields) have no strict JSON schema"
            )
        else:
            out[key] = value
    default = node.get("default")
    if isinstance(default, (str, int, float)) and default != "":
        # the default was a hint to the model too: keep it, in words
        hint = f"if unsure: {json.dumps(default)}"
        out["description"] = f"{out['description']}; {hint}" if "description" in out else hint
    if out.get("type") == "object" or "properties" in out:
        out["properties"] = out.get("properties", {})
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


def response_schema(output: type[LLMOutput]) -> dict[str, Any]:
    """The schema litellm sends for `output` as a native response_format: the one
    shown in the prompt and given to json_object_schema servers, so every style asks
    for exactly the same thing."""
    from litellm.utils import type_to_response_format_param

    converted = type_to_response_format_param(output)
    if converted is None:
        raise InvalidInputError(f"litellm made no response format of {output!r}")
    schema: dict[str, Any] = converted["json_schema"]["schema"]
    return schema


def structured_request(
    style: Style, messages: list[Message], output: type[LLMOutput]
) -> tuple[list[Message], Any]:
    """The messages and `response_format` for one structured call in a provider style:

    - json_schema: the model class, which litellm turns into the strict
      `{"type": "json_schema", "json_schema": {...,"strict": true}}`;
    - json_object: `{"type": "json_object"}` (JSON mode), the schema in the prompt;
    - json_object_schema: `{"type": "json_object", "schema": ...}`, the form llama.cpp's
      server takes (it rejects json_schema), constraining its grammar; the schema is in
      the prompt too, for servers that ignore the `schema` key.
    """
    if style == "json_schema":
        return messages, output
    schema = response_schema(output)
    last = messages[-1]
    ask = (
        "\n\nReply with one JSON object, and nothing else, that matches this "
        f"JSON schema:\n{json.dumps(schema, separators=(',', ':'))}"
    )
    prompted = [*messages[:-1], {"role": last["role"], "content": _appended(last["content"], ask)}]
    if style == "json_object_schema":
        return prompted, {"type": "json_object", "schema": schema}
    return prompted, {"type": "json_object"}


def _appended(content: str | list[dict[str, Any]], text: str) -> str | list[dict[str, Any]]:
    """A message's content with `text` after its text: its first text part, when it is a
    list of parts (text and images)."""
    if isinstance(content, str):
        return content + text
    parts = [dict(part) for part in content]
    first = next((part for part in parts if part.get("type") == "text"), None)
    if first is None:
        return [{"type": "text", "text": text.lstrip()}, *parts]
    first["text"] = str(first["text"]) + text
    return parts


__all__ = [
    "STRICT_KEYWORDS",
    "LLMOutput",
    "Style",
    "response_schema",
    "strict_schema",
    "structured_request",
]
