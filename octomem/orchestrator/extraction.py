"""LLM extraction: one call for all agents per chunk (single_call) or a router call plus
one call per selected agent (per_agent). Long conversations are cut into chunks of about
`llm.chunk_tokens` tokens, so the number of calls is bounded:

- single_call: one extraction call per chunk (+ at most one reconcile call per process)
- per_agent:   per chunk one router call + one call per selected agent (+ one reconcile)
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from octomem.agents.base import ExtractionContext, MemoryAgent
from octomem.llm import LLMClient, UsageMeter
from octomem.models import MemoryBase, MemoryType, Turn
from octomem.prompts.extraction import (
    agent_messages,
    extraction_output,
    router_messages,
    router_output,
    single_call_messages,
)
from octomem.settings import LLMConfig

_CHARS_PER_TOKEN = 4  # a conservative estimate that needs no tokenizer download


def chunk_turns(turns: Sequence[Turn], chunk_tokens: int) -> list[list[Turn]]:
    """Consecutive turns in chunks of at most ~chunk_tokens tokens (a long turn alone)."""
    budget = chunk_tokens * _CHARS_PER_TOKEN
    chunks: list[list[Turn]] = []
    current: list[Turn] = []
    size = 0
    for turn in turns:
        length = len(turn.content) + 40
        if current and size + length > budget:
            chunks.append(current)
            current, size = [], 0
        current.append(turn)
        size += length
    if current:
        chunks.append(current)
    return chunks


async def single_call(
    llm: LLMClient,
    turns: Sequence[Turn],
    ctx: ExtractionContext,
    agents: Sequence[MemoryAgent],
    config: LLMConfig,
    meter: UsageMeter,
) -> tuple[list[MemoryType], dict[MemoryType, list[MemoryBase]]]:
    """Routing and every agent's candidates, from one call per chunk (`agents`: the ones
    with a prompt)."""
    selected: set[MemoryType] = set()
    candidates: dict[MemoryType, list[MemoryBase]] = {a.memory_type: [] for a in agents}
    output_model = extraction_output(agents)
    for chunk in chunk_turns(turns, config.chunk_tokens):
        messages = single_call_messages(chunk, ctx, agents, config.prompts)
        output = await llm.structured(messages, output_model, purpose="extract", meter=meter)
        listed = {MemoryType(name) for name in output.agents}
        for agent in agents:
            mtype = agent.memory_type
            if agent.prompt is None:
                continue
            records = agent.prompt.to_records(output.part(mtype), chunk, ctx)
            candidates[mtype] += records
            if records or mtype in listed:
                selected.add(mtype)
    return [a.memory_type for a in agents if a.memory_type in selected], candidates


async def route(
    llm: LLMClient,
    turns: Sequence[Turn],
    ctx: ExtractionContext,
    agents: Sequence[MemoryAgent],
    config: LLMConfig,
    meter: UsageMeter,
) -> list[MemoryType]:
    """per_agent mode: the agents the router selects for any chunk."""
    selected: set[MemoryType] = set()
    output_model = router_output(agents)
    for chunk in chunk_turns(turns, config.chunk_tokens):
        messages = router_messages(chunk, ctx, agents, config.prompts)
        output = await llm.structured(messages, output_model, purpose="route", meter=meter)
        selected |= {MemoryType(name) for name in output.agents}
    return [a.memory_type for a in agents if a.memory_type in selected]


async def for_agent(
    llm: LLMClient,
    agent: MemoryAgent,
    turns: Sequence[Turn],
    ctx: ExtractionContext,
    config: LLMConfig,
    meter: UsageMeter,
) -> list[MemoryBase]:
    """per_agent mode: one agent's specialised prompt, one call per chunk."""
    prompt = agent.prompt
    records: list[MemoryBase] = []
    if prompt is None:
        return records
    for chunk in chunk_turns(turns, config.chunk_tokens):
        messages = agent_messages(agent, chunk, ctx, config.prompts)
        output: BaseModel = await llm.structured(
            messages,
            prompt.output,
            purpose=f"extract:{agent.memory_type.value}",
            meter=meter,
        )
        records += prompt.to_records(output, chunk, ctx)
    return records
