"""Who said a turn: the user, or someone else whose words reach the user's memory (a mail's
sender, the other members of a Slack channel, the other speakers of a transcript)."""

from __future__ import annotations

from collections.abc import Sequence

from octomem.language.reading import Fact
from octomem.models import Turn

_THE_USER = frozenset({"user", "human", "me"})


def other_speakers(
    turns: Sequence[Turn], user_id: str | None, user_name: str | None
) -> dict[str, str]:
    """The ids of the user-role `turns` said by someone other than the user, each with the
    name of its speaker. A user turn with a name is someone else's unless that name is the
    user's - their id or known name, in full or by its first word ("Pria Natarajan" for
    "pria") - or the call is a chat with the assistant in which one name speaks for the
    human side (a LangChain `HumanMessage(name=...)`)."""
    named = [t for t in turns if t.role == "user" and t.name]
    if len({t.name for t in named}) == 1 and any(t.role == "assistant" for t in turns):
        return {}
    own = set().union(_THE_USER, *(_names(n) for n in (user_id, user_name) if n))
    return {t.id: t.name for t in named if t.name and not _names(t.name) & own}


def _names(name: str) -> set[str]:
    """A name in full and by its first word, in lowercase."""
    parts = name.lower().split()
    return {" ".join(parts), parts[0]} if parts else set()


def as_said_by(facts: Sequence[Fact], speaker: str) -> list[Fact]:
    """What `speaker` said, read as a user's message reads, made theirs: "I moved to Lisbon"
    is a fact about the speaker, never the user's; a name they state is not the user's."""
    return [
        Fact(speaker, f.attribute, f.value, f.sentence, f.relation, f.entities) if f.is_user else f
        for f in facts
        if not (f.is_user and f.attribute == "name")
    ]
