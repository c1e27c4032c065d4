"""The core "human" block, kept as a view of the user's facts (`CoreAgent.projects`, the
`ViewKeeper` role).

One line per current fact the user stated about themselves (`human_lines`), rendered
again whenever one of them changes; the stored block is only ever the current one, and
`block_at` renders it as it read at a past time from the facts valid then. Nothing here
reads a clock: timestamps come from the facts and the write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from octomem.agents.base import PROJECTION_OF, VIEW_EXTRACTOR, ViewContext
from octomem.agents.core import rules
from octomem.models import CoreMemory, MemoryBase, MemoryType, SemanticMemory, SourceRef

_MAX_SOURCES = 50  # turns the human block cites (the newest)


def human_block(
    facts: Sequence[MemoryBase], block_id: str, existing: MemoryBase | None, ctx: ViewContext
) -> MemoryBase | None:
    """The block rendered from the scope's current facts about the user; `existing`
    closed when none gives a line; None if nothing needs writing."""
    now, limit = ctx.now, ctx.char_limit
    semantic = [f for f in facts if isinstance(f, SemanticMemory)]
    lines = rules.human_lines(semantic, limit)
    if not lines:
        if existing is not None and existing.is_current:
            update = {"valid_to": now, "updated_at": now, "version": existing.version + 1}
            return existing.model_copy(update=update)
        return None
    content = "\n".join(lines)
    if existing is not None and existing.is_current and existing.content == content:
        return None
    first = semantic[0]
    newest = max(semantic, key=lambda f: (f.updated_at, f.id))
    in_order = sorted(semantic, key=lambda f: (f.valid_from, f.id))
    turns = [t for f in in_order for t in f.source.turn_ids]
    messages = [m for f in in_order for m in f.source.message_ids]
    name = _user_name(semantic)
    entities = [*([name] if name else []), *(e for f in semantic for e in f.entities)]
    return CoreMemory(
        id=block_id,
        label=rules.HUMAN,
        content=content,
        char_limit=limit,
        user_id=first.user_id,
        agent_id=first.agent_id,
        session_id=newest.session_id,
        created_at=existing.created_at if existing is not None else newest.created_at,
        updated_at=max(newest.updated_at, existing.updated_at) if existing else newest.updated_at,
        valid_from=existing.valid_from
        if existing is not None
        else min(f.valid_from for f in semantic),
        source=SourceRef(
            turn_ids=list(dict.fromkeys(turns))[-_MAX_SOURCES:],
            message_ids=list(dict.fromkeys(messages))[-_MAX_SOURCES:],
            extractor=f"{VIEW_EXTRACTOR}:core",
        ),
        metadata={k: v for f in in_order for k, v in f.metadata.items()},  # the latest wins
        internal={PROJECTION_OF: MemoryType.SEMANTIC.value},
        entities=list(dict.fromkeys(entities)),
        version=existing.version + 1 if existing is not None else 1,
    )


def _user_name(facts: Sequence[SemanticMemory]) -> str | None:
    """The newest value of a "name" fact among the user's facts."""
    names = sorted((f for f in facts if f.attribute == "name"), key=lambda f: (f.valid_from, f.id))
    return names[-1].value if names else None


def block_at(
    facts: Sequence[MemoryBase], block_id: str, at: datetime, ctx: ViewContext
) -> MemoryBase | None:
    """The human block as it read at `at`, from the facts valid then."""
    semantic = [f for f in facts if isinstance(f, SemanticMemory)]
    lines = rules.human_lines(semantic, ctx.char_limit)
    if not lines:
        return None
    first = semantic[0]
    return CoreMemory(
        id=block_id,
        label=rules.HUMAN,
        content="\n".join(lines),
        user_id=first.user_id,
        agent_id=first.agent_id,
        created_at=min(f.created_at for f in semantic),
        updated_at=max(f.updated_at for f in semantic),
        valid_from=max(f.valid_from for f in semantic),
        source=SourceRef(extractor=f"{VIEW_EXTRACTOR}:core"),
        internal={PROJECTION_OF: MemoryType.SEMANTIC.value},
    )
