"""mem0's ``Memory.from_config({...})`` dictionary as octomem settings overrides.

Each key with an octomem meaning is mapped (docs/mem0.md lists them); any other key, or a
provider octomem has no store or client for, is refused with InvalidInputError naming it,
rather than ignored: a setting that silently did nothing would mislead.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from octomem.errors import InvalidInputError
from octomem.settings import LocalEmbedderConfig

# mem0's LLM and embedder providers whose litellm prefix is another name
_LITELLM_PREFIX = {"azure_openai": "azure", "litellm": "", "aws_bedrock": "bedrock"}
_API_BASES = ("openai_base_url", "ollama_base_url", "base_url", "api_base", "azure_endpoint")
_LOCAL = {
    name: name for name in typing.get_args(LocalEmbedderConfig.model_fields["model"].annotation)
}
_LOCAL.update({f"sentence-transformers/{name}": name for name in list(_LOCAL)})
_LOCAL["BAAI/bge-small-en-v1.5"] = "bge-small-en-v1.5"


def _section(config: Mapping[str, Any], key: str) -> tuple[str, dict[str, Any]] | None:
    section = config.get(key)
    if section is None:
        return None
    if not isinstance(section, Mapping) or not isinstance(section.get("provider"), str):
        raise InvalidInputError(
            f'mem0 config {key!r} must be {{"provider": "...", "config": {{...}}}}; '
            f"got {type(section).__name__}"
        )
    unknown = sorted(set(section) - {"provider", "config"})
    if unknown:
        raise InvalidInputError(f"mem0 config {key!r} has unknown keys: {', '.join(unknown)}")
    body = section.get("config") or {}
    if not isinstance(body, Mapping):
        raise InvalidInputError(f"mem0 config {key}.config must be a mapping")
    return section["provider"], dict(body)


def _take(body: dict[str, Any], where: str, *known: str) -> dict[str, Any]:
    """The keys of `body` that are in `known`; InvalidInputError for any other."""
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidInputError(
            f"mem0 config {where} has no octomem meaning for: {', '.join(unknown)} "
            f"(mapped: {', '.join(known)})"
        )
    return body


def _model(
    provider: str, body: dict[str, Any], where: str, *options: str
) -> tuple[str, dict[str, Any]]:
    """A litellm model string and the call options from an llm or embedder section;
    InvalidInputError for any other key."""
    _take(body, f"{where}.config", "model", *_API_BASES, *options)
    model = body.pop("model", None)
    if not isinstance(model, str) or not model:
        raise InvalidInputError(f"mem0 config {where}.config.model must name the model")
    prefix = _LITELLM_PREFIX.get(provider, provider)
    bases = [key for key in _API_BASES if key in body]
    if len(bases) > 1:
        raise InvalidInputError(f"mem0 config {where}.config names {' and '.join(bases)}: one")
    extra = {"api_base": body.pop(bases[0])} if bases else {}
    extra.update(body)
    return (f"{prefix}/{model}" if prefix and not model.startswith(f"{prefix}/") else model), extra


def _vector(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    if provider != "chroma":
        raise InvalidInputError(
            f"octomem stores vectors in Chroma; vector_store provider {provider!r} has no "
            "octomem meaning (use provider 'chroma', or leave vector_store out)"
        )
    body = _take(body, "vector_store.config", "collection_name", "path", "host", "port")
    out: dict[str, Any] = {"data_dir": body["path"]} if "path" in body else {}
    vector: dict[str, Any] = {"mode": "embedded"}
    if "collection_name" in body:
        vector["collection_prefix"] = body["collection_name"]
    if "host" in body or "port" in body:
        vector["mode"] = "http"
        vector.update({k: body[k] for k in ("host", "port") if k in body})
    return {**out, "vector": vector}


def _graph(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    if provider != "neo4j":
        raise InvalidInputError(
            f"octomem's graph server is Neo4j; graph_store provider {provider!r} has no "
            "octomem meaning (leave graph_store out for the embedded graph)"
        )
    body = _take(body, "graph_store.config", "url", "username", "password", "database")
    names = {"url": "uri", "username": "user", "password": "password", "database": "database"}
    return {"graph": {"provider": "neo4j", **{names[k]: v for k, v in body.items()}}}


def _llm(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    model, extra = _model(provider, body, "llm", "api_key", "temperature", "max_tokens", "top_p")
    return {"llm": {"model": model, "extra": extra}}


def _embedder(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    if provider == "huggingface":
        model = body.pop("model", "all-MiniLM-L6-v2")
        _take(body, "embedder.config", "model", "embedding_dims")
        if not isinstance(model, str) or model not in _LOCAL:
            raise InvalidInputError(
                f"octomem's local embedder runs {', '.join(sorted(set(_LOCAL.values())))}; "
                f"embedder model {model!r} is not one of them"
            )
        return {"embedder": {"provider": "local", "model": _LOCAL[model]}}
    dimension = body.pop("embedding_dims", None)
    model, extra = _model(provider, body, "embedder", "api_key")
    embedder = {"provider": "litellm", "model": model, "dimension": dimension, "extra": extra}
    return {"embedder": embedder}


_SECTIONS = {"vector_store": _vector, "graph_store": _graph, "llm": _llm, "embedder": _embedder}
_REFUSED = {
    "history_db_path": "octomem keeps history in its own stores under data_dir "
    "(vector_store.config.path)",
    "reranker": "recall already fuses vector, keyword and graph rankings; there is no "
    "separate reranker",
    "custom_fact_extraction_prompt": "extraction instructions are set per memory type "
    "in octomem's settings (llm.prompts)",
    "custom_update_memory_prompt": "conflicts are resolved by octomem's own rules and prompt",
    "custom_instructions": "extraction instructions are set per memory type in octomem's "
    "settings (llm.prompts)",
}


def settings_overrides(config: Mapping[str, Any]) -> dict[str, Any]:
    """mem0's config dictionary as `load_settings` keyword overrides."""
    if not isinstance(config, Mapping):
        raise InvalidInputError(f"a mem0 config is a dict, got {type(config).__name__}")
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "version":  # results are always in v1.1's shape ({"results": [...]})
            if value not in ("v1.1", None):
                raise InvalidInputError(f"octomem answers in mem0's v1.1 shape; got {value!r}")
        elif key in _SECTIONS:
            if (section := _section(config, key)) is not None:
                out.update(_SECTIONS[key](*section))
        elif key in _REFUSED:
            raise InvalidInputError(f"mem0 config {key!r} is not supported: {_REFUSED[key]}")
        else:
            raise InvalidInputError(f"mem0 config key {key!r} has no octomem meaning")
    return out
