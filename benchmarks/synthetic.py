"""Synthetic but realistic memories for one user, facts about them and the people they
know, and questions about them (seeded)."""

from __future__ import annotations

import random

NAMES = (
    "Maria Sam Priya Tom Aiko Lena Omar Jonas Chloe Mateo Nora Felix Amara Ivan Zoe Hugo "
    "Yara Leo Mina Arjun Sofia Ben Elif Ravi Clara Diego Hana Max Lucia Kofi"
).split()
PLACES = (
    "Lisbon Berlin Kyoto Oslo Toronto Nairobi Lima Seoul Porto Vienna Austin Dublin Hanoi "
    "Krakow Denver Tunis Bergen Malmo Cusco Busan"
).split()
ACTIVITIES = (
    "went hiking",
    "tried a pottery class",
    "ran a half marathon",
    "visited the aquarium",
    "cooked a Thai curry",
    "went to a jazz concert",
    "started a vegetable garden",
    "painted a sunset",
    "read a novel about whales",
    "fixed the old bike",
    "went camping by the lake",
    "adopted a kitten",
    "learned to play chess",
    "volunteered at the food bank",
    "built a bookshelf",
    "watched a documentary on bees",
)
TOPICS = (
    "the quarterly report",
    "the new onboarding flow",
    "the database migration",
    "the summer trip",
    "the birthday party",
    "the apartment search",
    "the job interview",
    "the photography course",
    "the marathon training plan",
    "the wedding speech",
)
FOODS = "sushi ramen tacos pho falafel pierogi risotto paella curry dumplings".split()
TEMPLATES = (
    "I {activity} in {place} with {name} last {day}.",
    "{name} told me they moved to {place} for a new job.",
    "Can you remind me to send {name} the notes on {topic} before {day}?",
    "I've been working on {topic} all week and it's finally coming together.",
    "My favourite food lately is {food}; {name} got me hooked on it in {place}.",
    "{name} and I {activity} on {day}, it was the best part of the month.",
    "I'm a bit stressed about {topic}, the deadline is {day}.",
    "We booked flights to {place} for {topic_short} in {month}.",
    "{name} recommended a {food} place near the station in {place}.",
    "I finally {activity} after putting it off for {n} weeks.",
)
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday weekend".split()
MONTHS = "January February March April May June July August September October".split()
QUESTIONS = (
    "What did I do in {place}?",
    "Where did {name} move to?",
    "What should I send {name}?",
    "How is {topic} going?",
    "What food did {name} recommend?",
    "When did {name} and I go out?",
    "What am I stressed about?",
    "When is the trip to {place}?",
    "Which restaurant in {place} was recommended?",
    "What did I finally get around to doing?",
)


def _fill(template: str, rng: random.Random) -> str:
    topic = rng.choice(TOPICS)
    return template.format(
        activity=rng.choice(ACTIVITIES),
        place=rng.choice(PLACES),
        name=rng.choice(NAMES),
        day=rng.choice(DAYS),
        topic=topic,
        topic_short=topic.removeprefix("the "),
        food=rng.choice(FOODS),
        month=rng.choice(MONTHS),
        n=rng.randint(2, 12),
    )


def memories(count: int, seed: int = 7) -> list[str]:
    """`count` distinct first-person chat messages."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        text = _fill(rng.choice(TEMPLATES), rng)
        if text in seen:  # keep texts distinct: exact duplicates would be deduplicated
            text = f"{text[:-1]} (note {len(out)})."
        seen.add(text)
        out.append(text)
    return out


SURNAMES = (
    "Silva Novak Tanaka Berg Okafor Kim Haddad Weber Dubois Rossi Sato Larsen Mensah Petrov "
    "Costa Ng Moreau Shah Lopez Fischer Nakamura Eriksen Diaz Yilmaz Kowalski Murphy Ito "
    "Varga Santos Reyes"
).split()
COMPANIES = (
    "Google Spotify Siemens Nokia Lego Ikea Fiat Zara Amazon Oracle Intel Philips Airbus "
    "Adidas Canon"
).split()
RELATIONS = "friend sister brother cousin colleague neighbour boss".split()
PERSON_FACTS = (
    "My {relation} {person} works at {company}.",
    "My {relation} {person} lives in {place}.",
)
USER_FACTS = (  # values that change: a later one supersedes
    "I live in {place}.",
    "I work at {company}.",
    "I love {food}.",
    "My favourite colour is {colour}.",
)
COLOURS = "blue green red yellow purple orange teal".split()


def facts(count: int, seed: int = 17) -> list[str]:
    """`count` short fact-bearing first-person messages: three in four name someone the
    user knows (900 people: message i names person i % 900) and where they live or work;
    the others the user's own home, job, tastes, which change (later ones supersede)."""
    rng = random.Random(seed)
    people = [f"{first} {last}" for last in SURNAMES for first in NAMES]
    rng.shuffle(people)
    return [
        rng.choice(PERSON_FACTS if rng.random() < 0.75 else USER_FACTS).format(
            relation=rng.choice(RELATIONS),
            person=people[i % len(people)],
            company=rng.choice(COMPANIES),
            place=rng.choice(PLACES),
            food=rng.choice(FOODS),
            colour=rng.choice(COLOURS),
        )
        for i in range(count)
    ]


def questions(count: int, seed: int = 11) -> list[str]:
    """`count` distinct questions (distinct, so no embedder cache hit hides a cost)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        text = _fill(rng.choice(QUESTIONS), rng)
        if text in seen:
            text = f"{text[:-1]}, again #{len(out)}?"
        seen.add(text)
        out.append(text)
    return out
