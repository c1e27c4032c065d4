"""Facts on real talk (`octomem.language.facts`, `retractions`): what a message states
and what it takes back, in lowercase chat as well.

Each behaviour is tried in several phrasings, and each has phrasings that look alike but
must not match: a negated statement is never stored as a positive fact, a lowercase
common noun never becomes a place.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from octomem.agents.base import RETRACTS, ExtractionContext
from octomem.agents.semantic import SemanticAgent
from octomem.language import user_facts
from octomem.language.facts import read_facts
from octomem.models import Scope, SemanticMemory, Turn

TS = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


def said(text: str) -> set[tuple[str, str, str]]:
    facts, _ = read_facts(text)
    return {(f.subject, f.attribute, f.value) for f in facts}


def retracted(text: str) -> set[tuple[str, str]]:
    _, gone = read_facts(text)
    return {(f.attribute, f.value) for f in gone}


# --- retractions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attribute", "value"),
    [
        ("I'm not living in Paris any more.", "lives_in", "Paris"),
        ("I don't live in Paris anymore", "lives_in", "Paris"),
        ("I no longer live in Paris.", "lives_in", "Paris"),
        ("I never lived in Paris, that was my sister.", "lives_in", "Paris"),
        ("I used to live in Paris.", "lives_in", "Paris"),
        ("I moved out of Paris last year.", "lives_in", "Paris"),
        ("i dont live in paris anymore", "lives_in", "Paris"),
        ("I don't live there anymore.", "lives_in", ""),
        ("I no longer work at Google.", "works_at", "Google"),
        ("I don't work for Google any more.", "works_at", "Google"),
        ("I'm not working at Google anymore.", "works_at", "Google"),
        ("I left Google.", "works_at", "Google"),
        ("I quit my job at Acme last week.", "works_at", "Acme"),
        ("i quit my job at acme", "works_at", "Acme"),
        ("I quit my job.", "works_at", ""),
        ("I lost my job today.", "works_at", ""),
        ("I got laid off.", "works_at", ""),
        ("I'm retired now.", "works_at", ""),
        ("I'm not working anymore.", "works_at", ""),
        ("I'm not a nurse anymore.", "job", "nurse"),
        ("I stopped being a teacher.", "job", "teacher"),
        ("I'm not vegetarian anymore.", "diet", "vegetarian"),
        ("I'm no longer vegan.", "diet", "vegan"),
        ("I stopped being vegan.", "diet", "vegan"),
        ("I gave up being vegetarian.", "diet", "vegetarian"),
        ("I'm not allergic to peanuts anymore.", "allergy", "peanuts"),
        ("I'm not from Spain.", "hometown", "Spain"),
        ("We broke up.", "partner", ""),
        ("we split up last month", "partner", ""),
        ("My girlfriend and I broke up.", "partner", ""),
        ("I broke up with Tom.", "partner", "Tom"),
        ("I broke up with my boyfriend Tom.", "partner", "Tom"),
        ("We got divorced.", "spouse", ""),
        ("My wife and I separated.", "spouse", ""),
        ("I'm divorced now.", "spouse", ""),
    ],
)
def test_retraction_is_read_and_never_stated(text: str, attribute: str, value: str) -> None:
    assert (attribute, value) in retracted(text)
    # the retracted value is not also stored as true ("I broke up with my boyfriend Tom")
    assert not any(attr == attribute and (not value or v == value) for _, attr, v in said(text))


@pytest.mark.parametrize(
    "text",
    [
        "I left the party early.",
        "I lost my keys.",
        "I quit smoking.",
        "I'm not working today.",
        "I'm not working on that anymore.",
        "If I left Google I would miss my team.",
        "I might leave Google next year.",
        "I'm leaving Google next month.",
        "I wouldn't live in Paris.",
        "We are not divorced.",
        "Do I still live in Paris?",
        "I live in Paris and I work at Google.",
        "My sister moved out of Paris.",
    ],
)
def test_look_alikes_retract_nothing(text: str) -> None:
    assert retracted(text) == set()


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("I don't live in Paris.", ("lives_in", "Paris")),
        ("I'm not living in Paris any more.", ("lives_in", "Paris")),
        ("I no longer work at Google.", ("works_at", "Google")),
        ("I'm not working at Google anymore.", ("works_at", "Google")),
        ("I used to work at Google.", ("works_at", "Google")),
        ("I'm not a nurse.", ("job", "nurse")),
        ("I'm not vegan.", ("diet", "vegan")),
        ("I'm no longer vegetarian.", ("diet", "vegetarian")),
        ("I'm not from Spain.", ("hometown", "Spain")),
        ("I'm not allergic to peanuts.", ("allergy", "peanuts")),
    ],
)
def test_negated_statement_is_not_a_fact(text: str, fact: tuple[str, str]) -> None:
    assert ("user", *fact) not in said(text)


@pytest.mark.parametrize(
    "text",
    [
        "I don't like coffee any more.",
        "I don't like coffee anymore",
        "I no longer like coffee.",
        "i stopped liking coffee",
    ],
)
def test_a_like_turned_off_is_a_dislike(text: str) -> None:
    """A dislike has the like's conflict key, so it supersedes the like."""
    assert said(text) == {("user", "preference:coffee", "dislikes")}
    assert retracted(text) == set()


def test_a_like_cut_before_its_time_keeps_no_dangling_word() -> None:
    """The time ("in the morning") is cut off the liked thing, and so is the "in the" it
    would leave: "the user likes to drink coffee in the." said nothing more."""
    assert said("I like to drink coffee in the morning.") == {
        ("user", "preference:drink coffee", "likes")
    }


@pytest.mark.parametrize(
    "text",
    ["I love me some pizza!", "Honestly, I love it everywhere.", "I like here.", "I love us."],
)
def test_a_like_of_a_pronoun_or_a_place_word_is_no_preference(text: str) -> None:
    """ "I love me some pizza" would be stored as "the user likes me"."""
    assert not {f for f in said(text) if f[1].startswith("preference:")}


def test_a_move_closes_the_old_city_and_names_the_new() -> None:
    text = "I moved from Paris to Berlin last year."
    assert retracted(text) == {("lives_in", "Paris")}
    assert said(text) == {("user", "lives_in", "Berlin")}


def test_retractions_come_before_the_facts_of_their_turn() -> None:
    """ "I quit my job and started at Globex": the retraction (of whatever job was current)
    must be decided before Globex is added, or it would close Globex."""
    records = SemanticAgent().extract(
        [
            Turn(
                id="t0",
                index=0,
                role="user",
                content="I quit my job. I joined Globex.",
                timestamp=TS,
            )
        ],
        ExtractionContext(scope=Scope(user_id="u1"), now=TS),
    )
    kinds = [(r.attribute, r.value, bool(r.internal.get(RETRACTS))) for r in records]
    assert kinds == [("works_at", "", True), ("works_at", "Globex", False)]
    assert all(isinstance(r, SemanticMemory) for r in records)


@pytest.mark.parametrize(
    "text", ["I broke up with Tom.", "I broke up with my girlfriend, Sarah, last week."]
)
def test_a_retracted_partner_is_said_as_a_sentence(text: str) -> None:
    """Every retraction with a value is said as a sentence (a partner's name once raised a
    KeyError that stopped the whole offline extraction of the turn)."""
    turn = Turn(id="t0", index=0, role="user", content=text, timestamp=TS)
    records = SemanticAgent().extract([turn], ExtractionContext(scope=Scope(user_id="u1"), now=TS))
    [record] = [r for r in records if r.attribute == "partner"]
    assert record.internal.get(RETRACTS)
    assert record.content.endswith(f"partner is {record.value}.")


# --- lowercase and informal text --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attribute", "value"),
    [
        ("i work at google", "works_at", "Google"),
        ("i work at google now", "works_at", "Google"),
        ("i am currently working at google", "works_at", "Google"),
        ("i just started at spotify", "works_at", "Spotify"),
        ("i work at mcdonalds lol", "works_at", "Mcdonalds"),
        ("i live in berlin", "lives_in", "Berlin"),
        ("i live in berlin rn", "lives_in", "Berlin"),
        ("i live in london with my gf", "lives_in", "London"),
        ("i live in new york city", "lives_in", "New York City"),
        ("ya i moved to lisbon last month", "lives_in", "Lisbon"),
        ("I live in Berlin 😊", "lives_in", "Berlin"),
        ("im from spain", "hometown", "Spain"),
        ("i grew up in ohio", "hometown", "Ohio"),
        ("i'm 32", "age", "32"),
        ("im 32 btw", "age", "32"),
        ("my name is alice", "name", "Alice"),
        ("i'm a nurse", "job", "nurse"),
        ("i love sushi", "preference:sushi", "likes"),
        ("i love sushi 🍣🍣", "preference:sushi", "likes"),
        ("i dont like cilantro", "preference:cilantro", "dislikes"),
    ],
)
def test_lowercase_chat_is_read(text: str, attribute: str, value: str) -> None:
    assert ("user", attribute, value) in said(text)


@pytest.mark.parametrize(
    "text",
    [
        "i live in a small flat",
        "I live in a small flat.",
        "i live in a flat in the centre",
        "i live in the city",
        "i live in town",
        "i live in hope",
        "i work at night",
        "i work at home",
        "i work from home",
        "i work for myself",
        "i'm from here",
        "i love u",
        "i hate u",
        "I work at Acme and I live in suburbia.",  # a writer who capitalises names
    ],
)
def test_lowercase_common_nouns_are_not_places(text: str) -> None:
    facts = said(text)
    assert not {f for f in facts if f[1] in {"lives_in", "hometown"}}
    assert not {f for f in facts if f[1] == "works_at" and f[2] != "Acme"}
    assert not {f for f in facts if f[1].startswith("preference:")}


# --- jobs, favourites, relations ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("I started a new job at Apple.", "Apple"),
        ("i just started a new job at apple", "Apple"),
        ("I got a job at Netflix", "Netflix"),
        ("I accepted a position at IBM.", "IBM"),
        ("I landed a new role with Spotify!", "Spotify"),
    ],
)
def test_a_new_job_at_a_company_is_where_the_user_works(text: str, company: str) -> None:
    assert [(f.attribute, f.value) for f in user_facts(text)] == [("works_at", company)]


@pytest.mark.parametrize(
    ("text", "thing", "value"),
    [
        ("I'd say red is my favourite colour now.", "colour", "red"),
        ("ice cream is my fave dessert", "dessert", "ice cream"),
        ("I think green tea is my favourite drink.", "drink", "green tea"),
        ("Honestly, pizza is my favourite food", "food", "pizza"),
    ],
)
def test_a_favourite_named_before_it_is_read(text: str, thing: str, value: str) -> None:
    assert [(f.attribute, f.value) for f in user_facts(text)] == [(f"favourite:{thing}", value)]


@pytest.mark.parametrize(
    "text",
    ["This is my favourite song.", "The one in the corner is my favourite seat.", "it is my fave"],
)
def test_a_pointer_word_is_no_favourite(text: str) -> None:
    assert user_facts(text) == []


@pytest.mark.parametrize(
    ("text", "attribute", "value"),
    [
        ("Scratch that, I don't actually live in Paris.", "lives_in", "Paris"),
        ("I don't really work at Google anymore", "works_at", "Google"),
        ("I do not currently live in Rome", "lives_in", "Rome"),
    ],
)
def test_an_adverb_after_the_negation_still_retracts(text: str, attribute: str, value: str) -> None:
    facts, retracted = read_facts(text)
    assert facts == [] and [(f.attribute, f.value) for f in retracted] == [(attribute, value)]


@pytest.mark.parametrize(
    "text", ["My sister is Catholic.", "My brother is Canadian.", "My wife is The best"]
)
def test_a_capitalised_word_after_is_is_not_always_a_name(text: str) -> None:
    assert user_facts(text) == []


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        (
            "I live in Lisbon, and work at Acme as a designer.",
            {("lives_in", "Lisbon"), ("works_at", "Acme")},
        ),
        ("i live in berlin and work at siemens", {("lives_in", "Berlin"), ("works_at", "Siemens")}),
        ("I'm from Oslo but live in Bergen now.", {("hometown", "Oslo"), ("lives_in", "Bergen")}),
        (
            "I moved to Rome in May, and now work for Fiat.",
            {("lives_in", "Rome"), ("works_at", "Fiat")},
        ),
    ],
)
def test_a_clause_without_its_I_is_still_the_users(text: str, facts: set[tuple[str, str]]) -> None:
    assert {(attr, value) for who, attr, value in said(text) if who == "user"} == facts


@pytest.mark.parametrize(
    "text",
    [
        "Tom lives in Paris, and works at Acme.",  # no "I" leads: not the user's job
        "She told me to come and work at Acme.",
        "Would you live in Oslo and work at Equinor?",
    ],
)
def test_a_clause_without_an_I_before_it_is_not_the_users(text: str) -> None:
    assert ("user", "works_at", "Acme") not in said(text)
    assert not {f for f in said(text) if f[0] == "user" and f[1] in ("works_at", "lives_in")}
