"""LLM extraction: one call for all agents per chunk (single_call) or a router call plus
one call per selected agent (per_agent). Long conversations are cut into chunks of about
`llm.chunk_tokens` tokens, so the number of calls is bounded:

- single_call: one extraction call per chunk (+ at most one reconcile call per process)
- per_agent:   per chunk one router call + one call per selected agent (+ one reconcile)

Images (`media.vision`) make no call of their own: a chunk's images are shown in the call
that extracts for the agent that describes images (`vision.describers`: the resource
agent) - single_call's one call, or that agent's own call in per_agent mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from octomem.agents.base import ExtractionContext, MemoryAgent
from octomem.errors import LLMError
from octomem.llm import (
    MAX_REPLY_ITEMS_PER_TURN,
    REPLY_CHARS_PER_ITEM,
    InvalidReply,
    LLMClient,
    UsageMeter,
)
from octomem.llm_schema import LLMOutput
from octomem.models import MemoryBase, MemoryType, Turn
from octomem.orchestrator import reply_masking, vision
from octomem.prompts.extraction import (
    PER_AGENT,
    ROUTER,
    SINGLE_CALL,
    extraction_messages,
    extraction_output,
    router_output,
)
from octomem.prompts.vision import (
    Messages,
    Shown,
    described,
    descriptions,
    shown_images,
    with_images,
)
from octomem.settings import LLMConfig

_Out = TypeVar("_Out", bound=LLMOutput)
_CHARS_PER_TOKEN = 4  # a conservative estimate that needs no tokenizer download


class CallFailed(LLMError):
    """A chunk's call failed after earlier chunks' calls replied: `withheld`, the sha256 of
    the images shown in one of those whose reply held a secret, still withholds them (the
    extraction falls back, but what the model read in them is not forgotten)."""

    def __init__(self, exc: LLMError, withheld: set[str]) -> None:
        super().__init__(str(exc))
        self.withheld = withheld


def _shas(shown: Sequence[Shown]) -> set[str]:
    return {s.image.sha256 for s in shown}


async def _asked(
    llm: LLMClient,
    messages: Messages,
    chunk: Sequence[Turn],
    images: int,
    output: type[_Out],
    purpose: str,
    meter: UsageMeter,
    withheld: set[str],
) -> tuple[_Out, list[Shown]]:
    """One chunk's call with up to `images` of its images shown, and those shown. If it
    fails: CallFailed carrying `withheld` (what earlier calls' replies withhold), and the
    images shown here when its replies, not used, held a secret."""
    shown = shown_images(chunk, images)
    model = described(output) if shown else output
    try:
        reply = await llm.structured(
            with_images(messages, shown), model, purpose=purpose, meter=meter
        )
    except LLMError as exc:
        held = isinstance(exc, InvalidReply) and exc.holds_secret
        raise CallFailed(exc, withheld | (_shas(shown) if held else set())) from exc
    return reply, shown


def withheld_by(exc: LLMError) -> list[str]:
    """The images a failed extraction's earlier replies withhold (`CallFailed`)."""
    return sorted(exc.withheld) if isinstance(exc, CallFailed) else []


def _bounded(
    records: list[MemoryBase], chunk: Sequence[Turn], purpose: str, withheld: set[str]
) -> list[MemoryBase]:
    """`records`, one reply's, unless it gives more memories than the turns it read may
    hold (`MAX_REPLY_ITEMS_PER_TURN`): a prompt injection in one word ("ok") could
    otherwise have the model write six lists of MAX_REPLY_ITEMS. Such a reply is refused
    whole, as one that does not validate (CallFailed carrying `withheld`): the rules extract."""
    allowed = sum(
        MAX_REPLY_ITEMS_PER_TURN + len(turn.content) // REPLY_CHARS_PER_ITEM for turn in chunk
    )
    if len(records) > allowed:
        problem = LLMError(
            f"the reply ({purpose}) gives {len(records):,} memories for {len(chunk)} turn(s); "
            f"the limit is {allowed:,} (octomem.llm.MAX_REPLY_ITEMS_PER_TURN)"
        )
        raise CallFailed(problem, withheld)
    return records


def _secrets(chunk: Sequence[Turn]) -> dict[str, str]:
    """The values masked in the input of the call the turns of `chunk` came in."""
    return {value: kind for turn in chunk for value, kind in turn.secrets.items()}


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
    *,
    max_images: int = 0,
) -> tuple[list[MemoryType], dict[MemoryType, list[MemoryBase]], set[str]]:
    """Routing and every agent's candidates, from one call per chunk (`agents`: the ones
    with a prompt); up to `max_images` of the chunk's images shown in it. Last, the sha256
    of the images shown in a call whose reply held a secret (`originals.settle`)."""
    selected: set[MemoryType] = set()
    withheld: set[str] = set()
    candidates: dict[MemoryType, list[MemoryBase]] = {a.memory_type: [] for a in agents}
    output_model = extraction_output(agents)
    describer = next(iter(vision.describers(agents)), None)
    for chunk in chunk_turns(turns, config.chunk_tokens):
        messages = extraction_messages(SINGLE_CALL, chunk, ctx, agents, config.prompts)
        images = max_images if describer is not None else 0
        output, shown = await _asked(
            llm, messages, chunk, images, output_model, "extract", meter, withheld
        )
        listed = {MemoryType(name) for name in output.agents}
        made: dict[MemoryType, list[MemoryBase]] = {}
        for agent in agents:
            mtype = agent.memory_type
            if agent.prompt is None:
                continue
            records = agent.prompt.to_records(output.part(mtype), chunk, ctx)
            if describer is not None and agent is describer and shown:
                records += vision.records_of(agent, descriptions(output, shown), ctx)
            made[mtype] = records
            if records or mtype in listed:
                selected.add(mtype)
        # what the model wrote is masked like any text, as one reply (`reply_masking`)
        records = [r for rs in made.values() for r in rs]
        replied, secret = reply_masking.masked_reply(records, _secrets(chunk))
        if secret:
            withheld |= _shas(shown)
        masked = iter(_bounded(replied, chunk, "extract", withheld))
        for mtype, records in made.items():
            candidates[mtype] += [next(masked) for _ in records]
    return [a.memory_type for a in agents if a.memory_type in selected], candidates, withheld


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
        messages = extraction_messages(ROUTER, chunk, ctx, agents, config.prompts)
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
    *,
    max_images: int = 0,
) -> tuple[list[MemoryBase], set[str]]:
    """per_agent mode: one agent's specialised prompt, one call per chunk; up to
    `max_images` of the chunk's images shown in it when the agent describes images. With
    the records, the sha256 of the images shown in a call whose reply held a secret."""
    prompt = agent.prompt
    records: list[MemoryBase] = []
    withheld: set[str] = set()
    if prompt is None:
        return records, withheld
    images = max_images if vision.describers([agent]) else 0
    purpose = f"extract:{agent.memory_type.value}"
    for chunk in chunk_turns(turns, config.chunk_tokens):
        messages = extraction_messages(PER_AGENT, chunk, ctx, [agent], config.prompts)
        output, shown = await _asked(
            llm, messages, chunk, images, prompt.output, purpose, meter, withheld
        )
        found = prompt.to_records(output, chunk, ctx)
        if shown:
            found += vision.records_of(agent, descriptions(output, shown), ctx)
        replied, secret = reply_masking.masked_reply(found, _secrets(chunk))  # as one reply
        if secret:
            withheld |= _shas(shown)
        records += _bounded(replied, chunk, purpose, withheld)
    return records, withheld
