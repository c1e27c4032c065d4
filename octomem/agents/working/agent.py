"""Working agent: short-lived task state for one session (current task, goal, to-dos).

Each item has a key ("current_task", "goal", "todo:<task>", "reminder:<task>") that a
newer statement rewrites in place, and an expiry: the end of the day for "today", the
end of the named day for "by Friday", seven days for "this week", else the context's TTL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from octomem.agents.base import (
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    NoNearMerge,
    keep_said,
    record_fields,
    user_turns,
)
from octomem.agents.registry import register
from octomem.agents.working import prompt as working_prompt
from octomem.language import (
    TimeRef,
    entities_in,
    find_time,
    hedged,
    is_question,
    norm_key,
    possessive,
    remove_span,
    sentence_case,
    split_sentences,
    trim_clause,
    words,
)
from octomem.models import MemoryBase, MemoryType, Turn, WorkingMemory

_TASK = re.compile(
    r"\bI(?:'m|’m| am)(?: currently| now| still| right now| busy)?"
    r" (?P<verb>working on|trying to|in the middle of)\s+(?=(?P<v>.{1,200}))",
    re.IGNORECASE,
)
_FOCUS = re.compile(
    r"\blet'?s (?:focus on|work on|get started on|start with|tackle)\s+(?=(?P<v>.{1,200}))", re.I
)
_GOAL = re.compile(
    r"\b(?:my|our) (?:main |big |primary |only )?goal"
    r"(?: for (?P<per>today|tonight|this week|the week|this month|the day))?"
    r" is(?: to)?\s+(?=(?P<v>.{1,200}))",
    re.IGNORECASE,
)
_NEED = re.compile(
    r"\bI (?:really |still |also )?(?:need|have|must|'ve got|’ve got|got) to\s+(?=(?P<v>.{1,200}))",
    re.I,
)
_TODO = re.compile(r"(?:^|\b)(?:todo|to-do|to do)\s*:\s*(?=(?P<v>.{1,200}))", re.IGNORECASE)
_VAGUE = words("something anything it this that them everything nothing stuff")
_REMIND = re.compile(r"\bremind me (?:to|about)\s+(?=(?P<v>.{1,200}))", re.IGNORECASE)


def _value(text: str, timestamp: datetime) -> tuple[str, TimeRef | None]:
    """The task phrase without its deadline, and the deadline."""
    timeref = find_time(text, timestamp, "future")
    if timeref is not None:
        head = text[: timeref.span[0]].strip()
        text = head if head else remove_span(text, timeref.span)
    value = trim_clause(
        text,
        preps=False,
        max_words=12,
        keep=["this", "that", "so", "last", "next", "for"],
        stops=["because", "since", "so that", "but"],
    )
    return re.sub(r"\s+(?:by|before|until|on|for)$", "", value), timeref


def _expiry(turn: Turn, timeref: TimeRef | None, ctx: ExtractionContext) -> datetime:
    start = turn.timestamp
    if timeref is None:
        return start + ctx.working_ttl
    if timeref.granularity == "week" and timeref.text.lower().endswith("this week"):
        return start + timedelta(days=7)
    end = timeref.end()
    return end if end > start else start + ctx.working_ttl


@register
class WorkingAgent(NoNearMerge, BaseAgent):
    memory_type = MemoryType.WORKING
    record_type = WorkingMemory
    policy = ConflictPolicy.UPDATE
    session_scoped = True  # task state belongs to its session
    prompt = working_prompt.PROMPT
    query_cue = re.compile(
        r"\b(working on|task|todo|to-do|goals?|need to|right now|currently|deadline|remind)\b",
        re.I,
    )

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        records: dict[str, MemoryBase] = {}
        for turn, reading in user_turns(turns, ctx):
            known = reading.user_name
            for sentence in split_sentences(turn.content):
                if is_question(sentence):
                    continue
                for record in self._items(sentence, turn, ctx, known or "the user"):
                    keep_said(records, record)
        return list(records.values())

    def _items(
        self, sentence: str, turn: Turn, ctx: ExtractionContext, who: str
    ) -> list[WorkingMemory]:
        items: list[WorkingMemory] = []
        ts = turn.timestamp

        def add(key: str, value: str, content: str, timeref: TimeRef | None) -> None:
            if value.split()[0].lower() in _VAGUE:
                return
            expires = _expiry(turn, timeref, ctx)
            items.append(
                WorkingMemory(
                    id=ctx.memory_id(self.memory_type, key, session=True),
                    content=sentence_case(content),
                    key=key,
                    value=value,
                    expires_at=expires,
                    entities=entities_in(value),
                    internal={"deadline": timeref.text} if timeref else {},
                    **record_fields(turn, ctx, "working"),
                )
            )

        for m in [*_TASK.finditer(sentence), *_FOCUS.finditer(sentence)]:
            value, timeref = _value(m["v"], ts)
            if value and not hedged(sentence, m.start()):
                verb = (m.groupdict().get("verb") or "working on").lower()
                add("current_task", value, f"{who} is currently {verb} {value}.", timeref)
        for m in _GOAL.finditer(sentence):
            value, timeref = _value(m["v"], ts)
            period = m["per"]
            if period and not timeref:
                timeref = find_time(period, ts, "future")
            if value:
                when = f" for {period}" if period else ""
                value = re.sub(r"^to\s+", "", value)
                add("goal", value, f"{possessive(who)} goal{when} is to {value}.", timeref)
        for m in _NEED.finditer(sentence):
            value, timeref = _value(m["v"], ts)
            if value and timeref and not hedged(sentence, m.start()):
                due = f"{timeref.text} ({(timeref.end() - timedelta(seconds=1)).date()})"
                add(f"todo:{norm_key(value)}", value, f"{who} needs to {value} {due}.", timeref)
        for m in _TODO.finditer(sentence):
            value, timeref = _value(m["v"], ts)
            if value:
                add(f"todo:{norm_key(value)}", value, f"To-do for {who}: {value}.", timeref)
        for m in _REMIND.finditer(sentence):
            value, timeref = _value(m["v"], ts)
            if value:
                when = f" {timeref.text} ({timeref.start.date()})" if timeref else ""
                content = f"Remind {who} to {value}{when}."
                add(f"reminder:{norm_key(value)}", value, content, timeref)
        return items

    def conflict_key(self, record: MemoryBase) -> str | None:
        return record.key if isinstance(record, WorkingMemory) else None
