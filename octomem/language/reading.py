"""What the rules read in a message, as plain data: the facts it states and, per turn of
a call, the facts, retractions and the user's name known at that turn.

Plain data and no rules: the orchestrator's state and the agents' context hold readings.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fact:
    """One statement: `subject` is "user" for first-person facts, else the person's name.

    `relation` is the family word ("sister") or, for preferences and favourites, the thing
    liked or the category ("sushi", "colour").
    """

    subject: str
    attribute: str
    value: str
    sentence: str
    relation: str = ""
    entities: tuple[str, ...] = field(default=())

    @property
    def is_user(self) -> bool:
        return self.subject == "user"


@dataclass(frozen=True)
class TurnReading:
    """What the rules read in one turn of a call (`read_conversation`): facts and
    retractions only in a user-role turn; `speaker` names who said it when that is not the
    user (`octomem.language.speakers`), and then its facts are about the speaker and the
    people they name, never the user."""

    turn_id: str
    user_name: str | None
    facts: list[Fact] = field(default_factory=list)
    retracted: list[Fact] = field(default_factory=list)
    speaker: str | None = None
