"""Names written with letters beyond A-Z ("Zürich", "Åsa", "Øyvind", "Société Générale")
are read by the offline rules as their plain twins are: the rules once took "Zürich" for
the entity "Z" and found no fact at all in "My sister Åsa moved to Malmö."."""

from __future__ import annotations

from typing import Any

# each accented name and a plain twin of the same shape (capital first, small letters after)
NAMES = {
    "Zürich": "Zurich",
    "Åsa": "Asa",
    "Malmö": "Malmo",
    "Øyvind": "Oyvind",
    "Tromsø": "Tromso",
    "Société Générale": "Societe Generale",
    "Émile": "Emile",
    "Łódź": "Lodz",
    "Ólafur": "Olafur",
    "Þórshöfn": "Thorshofn",
    "Σοφία": "Sophia",
    "Дмитрий": "Dmitriy",
}
SAID = [
    "I live in Zürich now.",
    "My sister Åsa moved to Malmö.",
    "My friend Øyvind lives in Tromsø.",
    "I work at Société Générale.",
    "Émile and I went to Łódź last week.",
    "My brother Ólafur lives in Þórshöfn.",
    "My colleague Σοφία lives in Malmö.",
    "My name is Дмитрий.",
]


def _plain(text: str) -> str:
    for accented, plain in NAMES.items():
        text = text.replace(accented, plain)
    return text


def _read(orch: Any, user: str, said: list[str]) -> set[tuple[str, str, tuple[str, ...]]]:
    for text in said:
        orch.process([{"role": "user", "content": text}], user_id=user)
    return {
        (r.memory_type, r.content, tuple(sorted(r.entities)))
        for r in orch.get_all(user_id=user, limit=1000)
        if r.memory_type != "episodic"
    }


def test_accented_names_give_the_memories_their_plain_twins_give(make_orch: Any) -> None:
    orch = make_orch()
    accented = _read(orch, "ana", SAID)
    plain = _read(orch, "bob", [_plain(text) for text in SAID])
    assert len(plain) >= 15  # the plain sentences are read: the comparison means something
    as_plain = {
        (kind, _plain(content), tuple(sorted(map(_plain, ents))))
        for kind, content, ents in accented
    }
    assert as_plain == plain
    entities = {e for _, _, ents in accented for e in ents}
    assert {"Zürich", "Åsa", "Malmö", "Øyvind", "Tromsø", "Société Générale"} <= entities
    assert not any(len(e) == 1 for e in entities)  # no name cut at its first non-ASCII letter
