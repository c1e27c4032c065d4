"""Contextual agent: the user's situation - location, device, app, topic, mood.

One record per kind per turn (the last statement of the turn wins); across turns the
latest supersedes through the conflict key, which is the kind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from octomem.agents.base import (
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    NoNearMerge,
    record_fields,
    user_turns,
)
from octomem.agents.contextual import prompt as contextual_prompt
from octomem.agents.registry import register
from octomem.language import (
    entities_in,
    hedged,
    is_first_person,
    is_question,
    leading_entity,
    norm_key,
    split_sentences,
    third_person,
    trim_clause,
    words,
)
from octomem.models import ContextualMemory, MemoryBase, MemoryType, Turn

_IM = r"\bI(?:'m|’m| am)(?: currently| now| still| right now| here| just| stuck| sitting)?"
_LOCATION = re.compile(rf"{_IM} (?P<prep>at|in|on) (?=(?P<v>.{{1,200}}))")
_VISIT = re.compile(
    rf"{_IM} (?:visiting|travell?ing (?:in|to|through|around)|staying (?:in|at)|"
    r"working from|calling from|writing from) (?=(?P<v>.{1,200}))"
)
PLACES = words(
    """home work school office airport station hotel gym library cafe café hospital park
    beach car train plane bus flight boat ferry subway metro taxi uber bed kitchen desk
    restaurant bar pub mall store supermarket shop conference university uni college
    campus clinic lobby lounge terminal apartment flat house parents cabin cottage"""
)
NOT_PLACES = words(
    """loss moment point stage end beginning least risk mercy ease peace odds fault hurry
    rush mood middle trouble love charge pain doubt need process habit position situation
    relationship way loop favour favor shock debt luck time meeting call charge touch
    control danger agreement line favour case fact general particular"""
)
_VEHICLE = r"(?:an? |the )?(?:train|plane|bus|flight|boat|ferry|subway|tram|metro|bike)\b"
_DEVICES = (
    r"(?:(?:new|old|work|personal|android|samsung|google|company) )?(?:phone|iphone|"
    r"smartphone|mobile|cellphone|cell|laptop|desktop|computer|pc|mac|macbook(?: pro| air)?|"
    r"ipad|tablet|kindle|chromebook|smartwatch|apple watch|watch|tv)"
)
_DEVICE = re.compile(
    rf"\b(?:on|from|using|via|with) (?:my|a|the|this) (?P<v>{_DEVICES})\b"
    r"|\bI(?:'m|’m| am) on (?P<m>mobile|desktop)\b",
    re.IGNORECASE,
)
_APPS = (
    "Visual Studio Code|VS ?Code|VSCode|Visual Studio|Slack|Microsoft Teams|Teams|Zoom|"
    "Excel|Google Sheets|Google Docs|Word|PowerPoint|Notion|Chrome|Firefox|Safari|"
    "Jupyter(?: Notebook| Lab)?|JupyterLab|PyCharm|IntelliJ|Figma|Discord|WhatsApp|"
    "Telegram|Outlook|Gmail|Jira|Confluence|Trello|Obsidian|Neovim|Vim|Emacs|Xcode|"
    "Android Studio|Photoshop|Canva|Spotify|Google Meet|Cursor|Terminal|iTerm"
)
_APP = re.compile(rf"\b(?:in|on|using|via|from|inside|with|through) (?P<v>{_APPS})\b")
_TOPIC = re.compile(
    r"\b(?:let'?s (?:talk|chat) about|let'?s discuss|can we (?:talk about|discuss)|"
    r"I (?:have|got|'ve got) (?:a|some|another|one more) (?:quick )?questions? "
    r"(?:about|on|regarding)|I want to (?:talk about|discuss)|I'd like to (?:talk about|discuss)"
    r"|I need (?:some )?help with|I'm curious about)\s+(?=(?P<v>.{1,200}))",
    re.IGNORECASE,
)
MOODS = (
    "happy|sad|tired|exhausted|stressed(?: out)?|anxious|excited|nervous|worried|"
    "frustrated|angry|upset|bored|overwhelmed|calm|relaxed|lonely|depressed|sick|ill|"
    "thrilled|annoyed|confused|grateful|hopeful|sleepy|burnt out|burned out|motivated|"
    "proud|scared|afraid|optimistic|down|homesick|jet-?lagged|energized|energised|"
    "miserable|content|cheerful|furious|disappointed|relieved|restless|drained"
)
_MOOD = re.compile(
    r"\bI(?:'m|’m| am| feel| 'm feeling| am feeling|’m feeling| have been feeling| feel really)"
    r"(?: (?:so|really|very|a bit|a little|kind of|kinda|pretty|quite|super|totally|"
    r"extremely|incredibly|rather|somewhat|too|feeling|just|absolutely|a little bit))*"
    rf" (?P<v>{MOODS})\b(?! to (?:help|hear|assist|say))",
    re.IGNORECASE,
)
_TOPIC_BAD = words("it that this you them him her something anything everything")


def _place(prep: str, phrase: str) -> str | None:
    value = trim_clause(phrase, max_words=5, keep=["of"])
    parts = value.lower().split()
    if not parts:
        return None
    if prep == "on":
        return value if re.match(_VEHICLE, value, re.I) or value.startswith("the way to") else None
    if value[:1].isupper() and leading_entity(value) == value:
        return value
    head = parts[-1]
    if any(part in NOT_PLACES for part in parts):
        return None
    if parts[0] in {"the", "a", "an", "my", "our"}:
        return value if head in PLACES or (prep == "at" and "of" not in parts) else None
    return value if len(parts) == 1 and head in PLACES and prep == "at" else None


@register
class ContextualAgent(NoNearMerge, BaseAgent):
    memory_type = MemoryType.CONTEXTUAL
    record_type = ContextualMemory
    policy = ConflictPolicy.SUPERSEDE
    prompt = contextual_prompt.PROMPT
    query_cue = re.compile(
        r"\b(where (am i|is \w+ now)|right now|this week|device|phone|laptop|mood|feeling)\b",
        re.I,
    )

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        records: list[MemoryBase] = []
        for turn, reading in user_turns(turns, ctx):
            who = reading.user_name or "The user"
            latest: dict[str, tuple[str, str]] = {}
            for sentence in split_sentences(turn.content):
                if is_question(sentence) and not _TOPIC.search(sentence):
                    continue
                latest.update(self._situation(sentence, who))
            for kind, (value, content) in latest.items():
                records.append(
                    ContextualMemory(
                        id=ctx.memory_id(self.memory_type, kind, norm_key(value), session=True),
                        content=content,
                        kind=kind,
                        value=value,
                        entities=entities_in(value),
                        **record_fields(turn, ctx, "contextual"),
                    )
                )
        return records

    def _situation(self, sentence: str, who: str) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for m in _LOCATION.finditer(sentence):
            value = _place(m["prep"], m["v"])
            if value and not hedged(sentence, m.start()):
                found["location"] = (value, f"{who} is {m['prep']} {value}.")
        for m in _VISIT.finditer(sentence):
            value = trim_clause(m["v"], max_words=5, keep=["of"])
            if value and (value[:1].isupper() or value.lower() in PLACES):
                prep = "at" if value.lower() in PLACES else "in"
                found["location"] = (value, f"{who} is {prep} {value}.")
        for m in _DEVICE.finditer(sentence):
            value = (m["v"] or m["m"]).lower().replace("iphone", "iPhone").replace("ipad", "iPad")
            found["device"] = (value, f"{who} is using their {value}.")
        for m in _APP.finditer(sentence):
            if is_first_person(sentence):
                found["app"] = (m["v"], f"{who} is using {m['v']}.")
        for m in _TOPIC.finditer(sentence):
            value = trim_clause(m["v"], preps=False, max_words=8, stops=["because", "since"])
            if value and value.split()[0].lower() not in _TOPIC_BAD:
                value = third_person(value, who)
                found["topic"] = (value, f"{who} wants to talk about {value}.")
        for m in _MOOD.finditer(sentence):
            if not hedged(sentence, m.start()):
                mood = m["v"].lower()
                found["mood"] = (mood, f"{who} is feeling {mood}.")
        return found

    def conflict_key(self, record: MemoryBase) -> str | None:
        return record.kind if isinstance(record, ContextualMemory) else None
