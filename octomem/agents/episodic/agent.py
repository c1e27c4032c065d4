"""Episodic agent: the raw conversation log and the events the user says happened."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from octomem.agents.base import (
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    TurnPosition,
    keep_said,
    record_fields,
    said_by,
    user_turns,
)
from octomem.agents.episodic import prompt as episodic_prompt
from octomem.agents.episodic.announced import announced
from octomem.agents.registry import register
from octomem.filters import Filter
from octomem.language import (
    DANGLING,
    LOWER,
    UPPER,
    entities_in,
    find_time,
    has_content,
    hedged,
    is_question,
    remove_span,
    split_sentences,
    third_person,
    words,
)
from octomem.models import (
    TURN_CONTEXT,
    TURN_NOTES,
    EpisodicMemory,
    MemoryBase,
    MemoryType,
    Turn,
    make_memory_id,
    normalize_text,
    stable_hash,
)

# past-tense verbs that make an event on their own, by event type
EVENT_VERBS: dict[str, str] = {}
for _type, _verbs in {
    "travel": "flew traveled travelled drove landed arrived sailed hitchhiked commuted",
    "visit": "visited went toured stopped dropped",
    "meeting": "met interviewed chatted talked spoke called caught hung",
    "purchase": "bought purchased ordered rented booked subscribed paid",
    "milestone": "finished graduated completed passed won launched published retired moved "
    "signed became released shipped submitted defended adopted joined quit started began "
    "married proposed",
    "health": "broke sprained injured hurt fainted",
    "activity": "watched read played cooked ate ran hiked saw attended tried made baked wrote "
    "learned learnt spent celebrated did took cleaned fixed painted built climbed swam "
    "danced sang hosted organized organised visited lost found",
}.items():
    for _verb in _verbs.split():
        EVENT_VERBS.setdefault(_verb, _type)

# verbs in the past tense that report states or talk about the conversation: not events
NOT_EVENTS = words(
    """wanted needed liked loved hated thought knew believed wondered hoped wished meant
    asked said told mentioned forgot remembered realized realised noticed felt guessed
    figured decided used tried seemed supposed expected assumed understood preferred
    considered agreed was were had got could would should might did"""
)
_GOT = {
    "milestone": r"got (?:married|engaged|promoted|hired|divorced|accepted|a (?:new )?job)",
    "purchase": r"got (?:a new|myself a|a brand new)",
    "health": r"got (?:sick|ill|hurt|injured|covid|the flu)",
}
_SUBJECT = re.compile(
    rf"\b(?:(?P<co>[{UPPER}][{LOWER}]+|[Mm]y [a-z]+(?: [{UPPER}][{LOWER}]+)?) and )?[Ii]"
    r"(?:'ve|’ve| have)?(?P<adv>(?: just| finally| also| actually| recently| already| then| first"
    r"| officially| once)*) (?P<verb>[a-z]+)\b"
)


# verbs that say nothing without what they were done to ("I attended", "I just finished")
_NEEDS_OBJECT = frozenset(
    "attended made finished took bought visited joined read saw watched started did tried "
    "found brought gave picked played built wrote painted drew cooked baked got had".split()
)


# what opens the object of a relative clause ("this pride parade I went to")
_DETERMINERS = frozenset("this that these those the a an my our".split())
# heads that say when, why or how rather than what: "the reason I went to", "the first
# time I visited", "the way I made it"
_NOT_AN_OBJECT = frozenset(
    "reason reasons way ways time times day days moment week weekend month year night "
    "morning evening afternoon".split()
)
# a copula right after the verb: the clause was a relative one ("this lake I visited was calm")
_COPULA_AFTER = re.compile(r"\s+(?:was|is|were|are)\b.*$", re.I)


def _object_before(text: str) -> str | None:
    """The object of a relative clause whose "I" follows `text` ("this pride parade" of
    "One memory was this pride parade "): the last determiner among its last six words and
    the one to five words after it - None if there is none, or they say when, why or how."""
    words = text.split()[-6:]
    for i in range(len(words) - 2, -1, -1):
        if words[i].lower() in _DETERMINERS:
            if words[-1].lower().strip(",.!?") in _NOT_AN_OBJECT:
                return None
            return " ".join([words[i].lower(), *words[i + 1 :]])
    return None


def _relative_cut(clause: str, verb: str) -> str:
    """`clause` up to its verb, if a copula follows the verb ("I visited was calm": the
    verb's object came before the "I")."""
    at = re.search(rf"\b{re.escape(verb)}\b", clause)
    if at is None or not _COPULA_AFTER.match(clause[at.end() :]):
        return clause
    return clause[: at.end()]


def _cut_short(clause: str, verb: str) -> bool:
    """Whether the event's clause lost what it was about (to the time expression taken out
    of it, or a sentence that never said it): it ends on a preposition or article, or its
    verb needs an object and nothing but function words follows it."""
    last = clause.split()[-1:]
    if last and last[0].lower() in DANGLING:  # "I went to"
        return True
    after = re.search(rf"\b{re.escape(verb)}\b(.*)$", clause)
    return verb in _NEEDS_OBJECT and not has_content(after[1] if after else "")


def _event_type(verb: str, rest: str, timed: bool) -> str | None:
    """The event type of "I <verb> <rest>", or None when it is no event."""
    if verb == "got":
        phrase = f"got {rest}"
        return next((t for t, p in _GOT.items() if re.match(p, phrase)), None)
    if verb in {"was", "were"}:
        if timed and re.match(rf"(?:in|at) (?:the )?[{UPPER}]", rest):
            return "visit"
        return "health" if timed and re.match(r"(?:sick|ill|in hospital)", rest) else None
    if verb == "had":
        if re.match(r"(?:lunch|dinner|breakfast|coffee|drinks|a (?:call|meeting|date)) with", rest):
            return "meeting"
        if re.match(r"(?:a baby|surgery|an operation|an accident|a (?:job )?interview)", rest):
            return "milestone" if "baby" in rest or "interview" in rest else "health"
        return (
            "activity" if timed and re.match(r"(?:a|an) (?:great|good|lovely|fun)", rest) else None
        )
    if verb in NOT_EVENTS:
        return None
    if verb == "went":
        if re.match(r"on (?:a |an |my )?(?:trip|vacation|holiday|cruise|road trip)", rest):
            return "travel"
        if re.match(r"\w+ing\b", rest):
            return "purchase" if rest.startswith("shopping") else "activity"
        return "visit" if rest.startswith(("to ", "back to ")) else None
    if verb in {"started", "began"} and not re.match(r"(?:a |my |at |working|the new)", rest):
        return "activity" if timed else None
    if verb in EVENT_VERBS:
        return EVENT_VERBS[verb]
    if timed and verb.endswith("ed") and not verb.endswith("eed") and len(verb) > 4:
        return "activity"
    return None


def _upper_i(text: str) -> str:
    """Informal "i went" written as "I went", so the clause reads in the third person."""
    return re.sub(r"\bi\b(?=['’\s])", "I", text)


CONTEXT_CHARS = 300  # of the previous turn kept with a raw turn


def turn_context_text(turn: Turn | None) -> str:
    """A turn as the context of the next one: "speaker: text", at most `CONTEXT_CHARS`."""
    if turn is None:
        return ""
    text = f"{turn.name or turn.role}: {turn.content}"
    return text if len(text) <= CONTEXT_CHARS else text[: CONTEXT_CHARS - 3] + "..."


def raw_turn_record(
    turn: Turn, ctx: ExtractionContext, previous: Turn | None = None, *, batch: str = ""
) -> EpisodicMemory:
    """The conversation turn itself as an episodic record of type "message". `batch` (the
    `process` call) and `turn_index` let recall find a turn's neighbours; the record is
    embedded and keyword-indexed with `previous`, the turn before it in the same call,
    shortened (`octomem.models.embedding_text`), while `content` stays the turn alone."""
    actor = turn.name or turn.role
    text = f"{actor}: {turn.content}"
    return EpisodicMemory(
        id=ctx.memory_id(MemoryType.EPISODIC, "turn", turn.id),
        content=text,
        occurred_at=turn.timestamp,
        actor=actor,
        event_type="message",
        summary=text if len(text) <= 300 else text[:297] + "...",
        details=turn.content,
        internal={
            "role": turn.role,
            "turn_index": turn.index,
            "raw": True,
            "batch": batch or batch_id([turn]),
            TURN_CONTEXT: turn_context_text(previous),
        },
        **record_fields(turn, ctx, "episodic"),
    )


def batch_id(turns: Sequence[Turn]) -> str:
    """The id of the `process` call that stored `turns`: from their ids, never the clock."""
    return stable_hash([turn.id for turn in turns])[:16]


@register
class EpisodicAgent(BaseAgent):
    memory_type = MemoryType.EPISODIC
    record_type = EpisodicMemory
    policy = ConflictPolicy.APPEND
    prompt = episodic_prompt.PROMPT
    query_cue = re.compile(
        r"\b(when|happened|went|meet|met|visited|ago|yesterday|last (week|month|year|time)|"
        r"trip|event)\b",
        re.I,
    )

    # `TurnLog`: every turn of every call is stored as its own record, of event type
    # "message", marked raw (`raw_turn_record`)
    raw_turns: Filter = {"event_type": "message"}

    raw_turn_record = staticmethod(raw_turn_record)

    def turn_records(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Each turn as a raw turn record, with the turn before it in this call as its
        context, all of one batch (the `process` call)."""
        batch = batch_id(turns)
        return [
            raw_turn_record(turn, ctx, turns[i - 1] if i else None, batch=batch)
            for i, turn in enumerate(turns)
        ]

    def turn_record_id(self, record: MemoryBase, turn_id: str, id_key: bytes | None) -> str:
        return make_memory_id(
            MemoryType.EPISODIC, record.user_id, record.agent_id, "turn", turn_id, id_key=id_key
        )

    def stored_turn(self, record: MemoryBase) -> Turn | None:
        """The turn a raw-turn record was written from (same id, so it is not stored
        again)."""
        if not isinstance(record, EpisodicMemory) or record.event_type != "message":
            return None
        role = record.internal.get("role", "user")
        turn_id = record.source.turn_ids[0] if record.source.turn_ids else record.id
        message_id = record.source.message_ids[0] if record.source.message_ids else turn_id
        return Turn(
            id=turn_id,
            role=role,
            content=record.details or record.content,
            name=record.actor if record.actor != role else None,
            timestamp=record.occurred_at,
            index=int(record.internal.get("turn_index", 0)),
            session_id=record.session_id,
            external_id=message_id if message_id != turn_id else None,
            metadata=record.metadata,
            internal={k: v for k, v in record.internal.items() if k in TURN_NOTES},
        )

    def turn_position(self, record: MemoryBase) -> TurnPosition | None:
        """(session, batch, position) of a raw turn said by a named speaker (a message
        with a `name`); None for other memories and for anonymous user/assistant turns."""
        if not isinstance(record, EpisodicMemory) or record.event_type != "message":
            return None
        if record.actor == record.internal.get("role"):
            return None
        batch, index = record.internal.get("batch"), record.internal.get("turn_index")
        if not isinstance(batch, str) or not isinstance(index, int) or isinstance(index, bool):
            return None
        return record.session_id, batch, index

    def turns_at(self, positions: Iterable[TurnPosition]) -> Filter:
        """One clause per call (session and batch) with the positions asked in it."""
        calls: dict[tuple[str | None, str], list[int]] = {}
        for session, batch, index in positions:
            calls.setdefault((session, batch), []).append(index)
        clauses: list[Filter] = [
            {
                "AND": [
                    {"session_id": {"eq": session}},
                    {"internal.batch": {"eq": batch}},
                    {"internal.turn_index": {"in": list(dict.fromkeys(indexes))}},
                ]
            }
            for (session, batch), indexes in calls.items()
        ]
        return {"OR": clauses}

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """What the user did, what another speaker says they did, and what either says is
        planned (`announced`)."""
        records: dict[str, MemoryBase] = {}
        for turn, reading in user_turns(turns, ctx, others=True):
            who = reading.speaker or reading.user_name
            for sentence in split_sentences(turn.content):
                record = self._event(sentence, turn, ctx, who, reading.speaker)
                record = record or self._announced(sentence, turn, ctx, who, reading.speaker)
                if record is not None:
                    record.internal.update(said_by(reading))
                    keep_said(records, record)
        return list(records.values())

    def _announced(
        self,
        sentence: str,
        turn: Turn,
        ctx: ExtractionContext,
        who: str | None,
        speaker: str | None,
    ) -> EpisodicMemory | None:
        """An event the sentence announces: its place and date, and who said it (`who`:
        the speaker's name, the user's if known; `speaker` when not the user)."""
        event = announced(sentence, turn.timestamp)
        if event is None:
            return None
        said = f"{event.time.iso()}; said by {speaker}" if speaker else event.time.iso()
        summary = f"{event.clause} ({said})."
        return EpisodicMemory(
            id=ctx.memory_id(
                self.memory_type, "plan", normalize_text(event.clause), event.time.iso()
            ),
            content=summary,
            occurred_at=event.time.start,
            actor=who or "user",
            event_type="plan",
            summary=summary,
            details=sentence,
            entities=list(dict.fromkeys([*entities_in(event.clause), *([who] if who else [])])),
            internal={
                "time_expression": event.time.text,
                "granularity": event.time.granularity,
                "date": event.time.iso(),
                **({"place": event.place} if event.place else {}),
            },
            **record_fields(turn, ctx, "episodic"),
        )

    def _event(
        self,
        sentence: str,
        turn: Turn,
        ctx: ExtractionContext,
        user: str | None,
        speaker: str | None = None,
    ) -> EpisodicMemory | None:
        """What the speaker says happened to them: the user (`user` their name, if known)
        or another `speaker`."""
        if is_question(sentence):
            return None
        timeref = find_time(sentence, turn.timestamp, "past")
        for match in _SUBJECT.finditer(sentence):
            rest = sentence[match.end() :].strip()
            event_type = _event_type(match["verb"], rest, timeref is not None)
            if event_type and not hedged(sentence, match.start()):
                break
        else:
            return None
        start = match.start()
        clause = _upper_i(sentence[start:])
        if timeref is not None and timeref.span[0] >= start:
            clause = remove_span(clause, (timeref.span[0] - start, timeref.span[1] - start))
        clause = re.split(r";|\s[-–—]\s|,\s(?:but|and it|which|so)\b", clause)[0].strip(" .!,")
        if match["co"]:
            clause = clause.replace(f"{match['co']} and I", f"I and {match['co']}", 1)
        clause = _relative_cut(clause, match["verb"])
        if _cut_short(clause, match["verb"]):  # "this parade I went to": the object first
            before = _object_before(sentence[:start])
            clause = f"{clause} {before}" if before else clause
            if _cut_short(clause, match["verb"]):
                return None
        date = timeref.start if timeref else turn.timestamp
        label = timeref.label() if timeref else f"By {turn.timestamp.date().isoformat()}"
        if not timeref and ("just" in match["adv"] or "today" in sentence.lower()):
            label = f"On {turn.timestamp.date().isoformat()}"
        who = user or "The user"
        body = third_person(clause, who)
        body = "the user" + body[8:] if body.startswith("The user") else body
        summary = f"{label} {body}."
        key = normalize_text(third_person(clause, speaker or "the user"))
        day = timeref.iso() if timeref else turn.timestamp.date().isoformat()
        entities = [e for e in entities_in(clause) if e != "I"]
        return EpisodicMemory(
            id=ctx.memory_id(self.memory_type, "event", key, day),
            content=summary,
            occurred_at=date,
            actor=user or "user",
            event_type=event_type,
            summary=summary,
            details=sentence,
            entities=list(dict.fromkeys([*([user] if user else []), *entities])),
            internal={
                "time_expression": timeref.text if timeref else None,
                "granularity": timeref.granularity if timeref else "reported",
                "date": day,
            },
            **record_fields(turn, ctx, "episodic"),
        )

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return not (isinstance(record, EpisodicMemory) and record.event_type == "message")
