"""Procedural agent: how-to knowledge as a titled, ordered list of steps.

Steps come from numbered lists ("1. ..."), "Step 1: ..." lines, bulleted lists under a
how-to lead-in, and sequenced prose under a lead-in ("To reset the router, first ...,
then ..., finally ..."). A refined procedure with the same title gets a new id (the key
includes the steps) and supersedes the old version through the conflict key, which
`procedure_key` normalises: "Our release process changed: ...", "Release process (v2):"
and "The way we release is now: first ..." all revise the stored "Release process".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from octomem.agents.base import (
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    NoNearMerge,
    StaleEvidence,
    keep_said,
    record_fields,
)
from octomem.agents.procedural import prompt as procedural_prompt
from octomem.agents.registry import register
from octomem.language import UPPER, entities_in, norm_key, sentence_case, words
from octomem.models import MemoryBase, MemoryType, ProceduralMemory, Turn, stable_hash

_STEP = re.compile(r"^\s*(?:(?:step\s*)?(\d{1,2})\s*[.):]|[-*•]|step\s+\d+\s*[:.-])\s+(.+)$", re.I)
_INLINE = re.compile(r"(?:^|\s)(?:step\s+)?(\d{1,2})[.):]\s+", re.IGNORECASE)
_TITLE = re.compile(
    r"\b(?:how (?:to|do you|do i|can i|you can|i|we|you)|steps? (?:to|for)|routine for|"
    r"process for|procedure for|instructions for|recipe for|(?:the )?way (?:to|we|i|you)|"
    r"guide to|^to)\s+(?P<t>.+)",
    re.IGNORECASE,
)
_KINDS = r"routine|workflow|process|procedure|recipe|checklist|steps"
_OWNERS = r"my|our|the|your|his|her|their"
_FRESH = r"new|updated|revised|current|latest|changed"
# "our release process", "Update to my morning routine", "New deploy steps", "Release process"
_NAMED = re.compile(
    rf"(?:^\s*(?:(?:{_OWNERS}|{_FRESH})\s+)*|\b(?:{_OWNERS}|{_FRESH})\s+)(?:(?:{_FRESH})\s+)?"
    rf"(?P<t>(?:(?!(?:{_KINDS})\b)[a-z-]+\s+){{0,2}}(?:{_KINDS}))\b",
    re.IGNORECASE,
)
# words a title may carry that do not change which procedure it names
_TITLE_NOISE = re.compile(
    rf"\((?:v|version\s*)?\d+\)|\b(?:v|version\s*)\d+\b|^(?:(?:{_OWNERS}|{_FRESH}|a|an)\s+)+",
    re.IGNORECASE,
)
_GENERIC = re.compile(r"\s+(?:process|procedure|steps|workflow)$")
_SEQ = re.compile(
    r"(?:,\s*|\.\s+|;\s*|\s)(?:and\s+)?(?:then|next|after that|afterwards|finally|lastly)\b,?\s*",
    re.IGNORECASE,
)
IMPERATIVES = words(
    """open click run install go add set type press unplug wait plug select enter restart
    check create copy paste save make mix heat put take turn log navigate download update
    push commit build deploy remove delete close start stop write read find use choose pick
    sign fill connect disconnect reboot reset configure edit change move drag drop tap
    scroll enable disable preheat bake boil stir pour chop cut cook serve let leave
    apply wash rinse dry upload submit review test merge pull clone call send visit ask
    book pack get verify confirm insert attach unlock launch hold keep grab brew"""
)


def _title(lead: str) -> str | None:
    """The procedure's title from its lead-in line ("Here's how to deploy the app:",
    "Our release process changed:", "New deploy steps:")."""
    lead = lead.strip().rstrip(":").strip()
    match = _TITLE.search(lead)
    if match is None:
        named = _NAMED.search(lead)
        return sentence_case(named["t"].lower()) if named else None
    title = re.split(r",|:|\s+(?:is|are|do|follow|you need|has|have|changed)\b", match["t"])[0]
    title = re.sub(r"^(?:to\s+)", "", title).strip(" .!?")
    return sentence_case(title) if 0 < len(title.split()) <= 10 else None


def procedure_key(title: str) -> str:
    """The key all versions of one procedure share: "Our release process", "the release
    process", "Release process (v2)" and "release steps" all name "release"."""
    key = norm_key(_TITLE_NOISE.sub(" ", title.strip()))
    key = norm_key(_TITLE_NOISE.sub("", key))
    bare = _GENERIC.sub("", key)
    return bare or key


_TITLE_STOP = words(
    f"""the a an of for to how i we you {_OWNERS.replace("|", " ")} {_FRESH.replace("|", " ")}
    {_KINDS.replace("|", " ")} update updates"""
)
_SUFFIX = re.compile(r"(?:ments?|ing|ed|s)$")


def title_words(title: str) -> frozenset[str]:
    """A title's words that name the procedure, stemmed: "Our deployment process" and
    "Deploy steps" give {"deploy"}; a title of generic words alone ("The process") none."""
    found = (w for w in procedure_key(title).split() if w not in _TITLE_STOP)
    return frozenset(_SUFFIX.sub("", w) if len(w) > 5 else w for w in found)


def _step_keys(steps: Sequence[str]) -> set[str]:
    return {norm_key(_clean_step(step)) for step in steps}


def _clean_step(step: str) -> str:
    step = re.sub(r"^(?:and\s+|then\s+|first(?:ly)?,?\s+)", "", step.strip(), flags=re.I)
    step = re.sub(r"^(?:I|you|we)\s+(?=[a-z])", "", step, flags=re.I)
    step = step.strip(" ,;")
    return sentence_case(step.rstrip(".")) if step else ""


def _expand_inline(line: str) -> list[str]:
    """ "To do X: 1. a 2. b 3. c" on one line -> ["To do X:", "1. a", "2. b", "3. c"]."""
    marks = list(_INLINE.finditer(line))
    numbers = [int(m[1]) for m in marks]
    if len(marks) < 2 or numbers != list(range(1, len(marks) + 1)):
        return [line]
    out = [line[: marks[0].start()].strip()]
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(line)
        out.append(f"{i + 1}. {line[mark.end() : end].strip()}")
    return [part for part in out if part]


def _list_procedures(text: str) -> list[tuple[str | None, list[str], bool]]:
    """(title, steps, numbered) for every list of two or more steps in `text`."""
    lines = [part for raw in text.splitlines() for part in _expand_inline(raw)]
    found: list[tuple[str | None, list[str], bool]] = []
    lead, steps, numbered = "", [], False
    for line in [*lines, ""]:
        step = _STEP.match(line)
        if step:
            steps.append(step[2])
            numbered = numbered or line.lstrip()[:1] not in "-*•"
            continue
        if not line.strip() and not steps:
            continue
        if len(steps) >= 2:
            found.append((_title(lead), steps, numbered))
        steps, numbered = [], False
        if line.strip():
            lead = line
    return found


def _prose_procedures(text: str) -> list[tuple[str, list[str]]]:
    """Sequenced prose: a lead-in, then "first ..., then ..., finally ..."."""
    found = []
    for match in re.finditer(r"\bfirst(?:ly)?\b,?\s+", text, re.IGNORECASE):
        before = text[: match.start()]
        lead = re.split(r"(?<=[.!?:])\s+|\n", before.strip(" ,"))[-1] if before.strip() else ""
        if not lead and before.strip():
            lead = before
        body = re.split(
            rf"(?<=[.!?])\s+(?=[{UPPER}])(?!Then|Next|After|Finally|Lastly)|\n\n",
            text[match.end() :],
        )[0]
        steps = [_clean_step(part) for part in _SEQ.split(body)]
        steps = [s for s in steps if s]
        title = _title(lead)
        if title and len(steps) >= 2:
            found.append((title, steps))
    return found


@register
class ProceduralAgent(NoNearMerge, StaleEvidence, BaseAgent):
    memory_type = MemoryType.PROCEDURAL
    record_type = ProceduralMemory
    policy = ConflictPolicy.SUPERSEDE
    prompt = procedural_prompt.PROMPT
    query_cue = re.compile(
        r"\b(how (do|to|can|should)|steps?|procedures?|routine|process|instructions?|recipe)\b",
        re.I,
    )

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        records: dict[str, MemoryBase] = {}
        for turn in turns:
            candidates: list[tuple[str, list[str]]] = []
            for title, steps, numbered in _list_procedures(turn.content):
                steps = [s for s in (_clean_step(step) for step in steps) if s]
                imperative = sum(s.split()[0].lower() in IMPERATIVES for s in steps)
                if title is None and (not numbered or imperative * 2 < len(steps)):
                    continue
                candidates.append((title or " ".join(steps[0].split()[:6]), steps))
            candidates += _prose_procedures(turn.content)
            for title, steps in candidates:
                record = self._record(title, steps, turn, ctx)
                keep_said(records, record)
        return list(records.values())

    def _record(
        self, title: str, steps: list[str], turn: Turn, ctx: ExtractionContext
    ) -> ProceduralMemory:
        numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        key = norm_key(title)
        steps_hash = stable_hash([norm_key(s) for s in steps])[:16]
        return ProceduralMemory(
            id=ctx.memory_id(self.memory_type, key, steps_hash),
            content=f"{title}:\n{numbered}",
            title=title,
            trigger=f"how to {title[:1].lower()}{title[1:]}",
            steps=steps,
            entities=entities_in(". ".join(s.partition(" ")[2] for s in [title, *steps])),
            internal={"role": turn.role},
            **record_fields(turn, ctx, "procedural"),
        )

    def conflict_key(self, record: MemoryBase) -> str | None:
        return procedure_key(record.title) if isinstance(record, ProceduralMemory) else None

    def version_of(self, candidate: MemoryBase, current: Sequence[MemoryBase]) -> MemoryBase | None:
        """The procedure a differently titled one describes again: titles whose words are
        the same ("Deployment process", "deploy steps") or one of which holds the other's
        ("Deploy", "Deploy the app"), or, for a title that names no procedure ("The
        process changed:"), the one with the most steps in common."""
        if not isinstance(candidate, ProceduralMemory):
            return None
        mine, steps = title_words(candidate.title), _step_keys(candidate.steps)
        best: tuple[float, ProceduralMemory] | None = None
        for record in current:
            if not isinstance(record, ProceduralMemory):
                continue
            theirs, their_steps = title_words(record.title), _step_keys(record.steps)
            shared = len(steps & their_steps) / max(1, len(steps | their_steps))
            nested = bool(mine and theirs) and (mine <= theirs or theirs <= mine)
            if nested or (shared and not mine):
                score = shared + nested + (mine == theirs)
                if best is None or score > best[0]:
                    best = (score, record)
        return best[1] if best else None
