"""The stored raw turns `Orchestrator.reprocess` runs the LLM over again."""

from __future__ import annotations

from octomem.models import MemoryBase, Turn, stable_hash
from octomem.orchestrator.services import Services
from octomem.scopes import given, scope_filter

EXTRACTION_FLAG = "extraction"  # raw-turn internal key: "fallback" = LLM still owed
LLM_WORDS = "llm_words"  # raw-turn internal: a hash of the words the model last read in it
SENT_WORDS = "sent_words"  # raw-turn internal: hashes of other words it was sent with (`edits`)


def words(record: MemoryBase) -> str:
    """A hash of the words of a raw turn record (of what a call sends of the turn)."""
    return stable_hash(record.content)


def read_words(record: MemoryBase) -> str:
    """A hash of the words the model last read in the stored raw turn `record` (`LLM_WORDS`,
    else its stored words)."""
    value = record.internal.get(LLM_WORDS)
    return value if isinstance(value, str) else words(record)


async def sessions_to_reprocess(
    services: Services,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    *,
    all_turns: bool,
) -> list[tuple[str | None, str | None, list[Turn]]]:
    """(agent_id, session_id, turns in order) of every session with raw turns whose
    extraction fell back to the rules - or with any raw turn, with `all_turns` - but the
    turns of edited messages."""
    where = scope_filter(
        user_id,
        given(agent_id),
        given(session_id),
        services.turn_log.raw_turns,
        None if all_turns else {f"internal.{EXTRACTION_FLAG}": "fallback"},
    )
    turn_log = services.turn_log
    records = await services.vector.list(turn_log.memory_type, where=where)
    sessions: dict[tuple[str | None, str | None], list[Turn]] = {}
    for record in records:
        # a turn whose message was edited since: its stored words are not what was last
        # said (asking about them would bring back what the edit replaced); left owed
        turn = turn_log.stored_turn(record)  # the turn it was written from (same id)
        edited = read_words(record) != words(record) or record.internal.get(SENT_WORDS)
        if turn is not None and not edited:
            sessions.setdefault((record.agent_id, record.session_id), []).append(turn)
    for turns in sessions.values():
        turns.sort(key=lambda t: (t.timestamp, t.index))
    return [(agent, session, turns) for (agent, session), turns in sessions.items()]
