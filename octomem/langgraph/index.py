"""LangGraph's ``index=`` configuration (`IndexConfig`) for `OctomemStore` (docs/integrations.md).

``fields`` choose the text of a value that is embedded and indexed. ``embed`` and ``dims``
are checks, not a model of the store's own: every memory of a project lives in the
Orchestrator's one vector space, so they must agree with its embedder (`ConfigurationError`
saying how to configure octomem's embedder instead).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from langchain_core.embeddings import Embeddings
from langgraph.store.base import IndexConfig
from langgraph.store.base.embed import ensure_embeddings, get_text_at_path

from octomem.embeddings import Embedder, cosines
from octomem.errors import ConfigurationError, InvalidInputError
from octomem.validation import shown

TEXT_FIELDS = ("content", "text", "memory", "fact", "description", "summary", "body")
PROBE = "octomem checks that the store index embeds as the Orchestrator does"
# cosine of two embedders' vectors for the probe, to count as the same model: the default
# model's int8 graph and its float32 weights (sentence-transformers) agree to 0.997 on it;
# two models' vectors of the same text are not near
AGREE = 0.98
_KEYS = {"dims", "embed", "fields"}
_CONFIGURE = (
    "octomem embeds every memory of a project with the Orchestrator's one embedder; "
    "configure that one instead (e.g. embedder: {provider: litellm, model: "
    "openai/text-embedding-3-small} in the config, docs/configuration.md) and leave "
    "embed/dims out of index="
)


def default_text(value: Mapping[str, Any]) -> str:
    """octomem's text of a value: its first text field (`TEXT_FIELDS`), else its JSON."""
    for name in TEXT_FIELDS:
        if isinstance(value.get(name), str) and value[name].strip():
            return str(value[name])
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Indexed(NamedTuple):
    """What a put stores and indexes: the item's `text` (embedded and indexed as the
    record's content), whether a query ranks it, and the `paths` its text was read from
    (None: octomem's default text). An item whose paths hold several texts is scored by
    the best of them, as LangGraph scores it (`octomem.langgraph.ranking.best_fields`)."""

    text: str
    ranked: bool
    paths: list[str] | None


def field_texts(value: Mapping[str, Any], paths: Sequence[str]) -> list[str]:
    """The texts at `paths` of `value` (LangGraph's path reader), blank ones left out."""
    return [t for path in paths for t in get_text_at_path(value, path) if t.strip()]


class StoreIndex:
    """A checked ``index=`` configuration; `IndexConfig` keys only."""

    def __init__(self, config: IndexConfig | Mapping[str, Any] | None = None) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise InvalidInputError(
                f"index must be a dict like {{'fields': ['text']}} (LangGraph's IndexConfig) "
                f"or None; got {shown(config)}"
            )
        config = dict(config or {})
        if unknown := set(config) - _KEYS:
            raise InvalidInputError(
                f"index has unknown keys {sorted(unknown)}; LangGraph's IndexConfig has "
                f"{sorted(_KEYS)}"
            )
        fields = config.get("fields")
        if fields is not None and (
            isinstance(fields, str)
            or not isinstance(fields, Sequence)
            or not fields
            or not all(isinstance(f, str) and f.strip() for f in fields)
        ):
            raise InvalidInputError(
                f"index fields must be a non-empty list of JSON paths such as ['$'] or "
                f"['title', 'tags[*]']; got {shown(fields)}"
            )
        dims = config.get("dims")
        if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
            raise InvalidInputError(f"index dims must be a positive integer; got {shown(dims)}")
        self.fields: list[str] | None = list(fields) if fields is not None else None
        self.dims: int | None = dims
        self.embeddings: Embeddings | None = None
        if config.get("embed") is not None:
            try:  # LangGraph's own reading: Embeddings, function, or "provider:model"
                self.embeddings = ensure_embeddings(config["embed"])
            except Exception as exc:
                raise ConfigurationError(f"index embed cannot be loaded: {exc}") from exc
        self._checked = False

    def text(self, value: Mapping[str, Any], index: list[str] | bool | None) -> Indexed:
        """What a put of `value` stores and indexes (`Indexed`): from the put's `index`
        paths, else the configured fields, else octomem's default text."""
        if index is False:
            return Indexed(default_text(value), False, None)
        paths = index if isinstance(index, list) else self.fields
        if paths is None:
            return Indexed(default_text(value), True, None)
        texts = field_texts(value, paths)
        if not texts:  # nothing to embed there: kept, not ranked (as LangGraph)
            return Indexed(default_text(value), False, None)
        return Indexed("\n".join(texts), True, list(paths))

    def check_dims(self, embedder: Embedder) -> None:
        """`dims` against the embedder's dimension where it is known without a call."""
        if self.dims is None:
            return
        try:
            dimension = embedder.dimension
        except ConfigurationError:  # a litellm model's is learnt from its first reply
            return
        self._dims_agree(embedder, dimension)

    async def check(self, embedder: Embedder) -> None:
        """`dims` and `embed` against the Orchestrator's embedder (ConfigurationError), until
        they pass once; callers racing to the first check each make it."""
        if self._checked or (self.dims is None and self.embeddings is None):
            return
        [mine] = await embedder.embed([PROBE])
        self._dims_agree(embedder, len(mine))
        if self.embeddings is not None:
            try:
                theirs = await self.embeddings.aembed_query(PROBE)
            except Exception as exc:
                raise ConfigurationError(f"index embed failed on a probe text: {exc}") from exc
            if len(theirs) != len(mine) or cosines(mine, [theirs])[0] < AGREE:
                raise ConfigurationError(
                    f"index embed gives other vectors than the Orchestrator's embedder "
                    f"{embedder.name!r} ({len(theirs)} vs {len(mine)} dimensions); "
                    f"{_CONFIGURE}"
                )
        self._checked = True

    def _dims_agree(self, embedder: Embedder, dimension: int) -> None:
        if self.dims is not None and dimension != self.dims:
            raise ConfigurationError(
                f"index dims is {self.dims} but the Orchestrator's embedder {embedder.name!r} "
                f"gives {dimension}-dimensional vectors; {_CONFIGURE}"
            )
