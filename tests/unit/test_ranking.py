"""Every scoring step of recall on hand-built lists and records: score fusion with its
normalisation, vector floors and weights; query cues; the actor boost; neighbouring-turn
context; the keyword query; same-text collapse. Each test names the ranking a user relies
on. (Stale-evidence demotion is in test_staleness.py; rank fusion also in test_fusion.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from octomem import filters
from octomem.agents import EpisodicAgent
from octomem.agents.registry import default_agents
from octomem.models import (
    EpisodicMemory,
    KnowledgeMemory,
    MemoryBase,
    MemoryType,
    Provenance,
    SemanticMemory,
    SourceRef,
)
from octomem.orchestrator.fusion import (
    Fused,
    boost_named_actors,
    fuse,
    named_in,
    vector_floors,
)
from octomem.orchestrator.recall.plan import query_agent_weights
from octomem.orchestrator.recall.rank import _collapse_same_text
from octomem.orchestrator.retrieval import add_context, keyword_query, names_user, query_names
from octomem.plans import RankedList, RecallPlan
from octomem.stores.base import Filter

SEM, EPI, PRO, RES = (
    MemoryType.SEMANTIC,
    MemoryType.EPISODIC,
    MemoryType.PROCEDURAL,
    MemoryType.RESOURCE,
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

AGENTS = default_agents()  # the built-in agents, whose query cues recall reads


def ranked(agent: MemoryType, retriever: str, *pairs: tuple[str, float]) -> RankedList:
    return RankedList(
        agent=agent, retriever=retriever, ids=[p[0] for p in pairs], scores=[p[1] for p in pairs]
    )


def scores_of(fused: Fused) -> dict[str, float]:
    return {memory_id: round(score, 6) for memory_id, score, _ in fused}


def order(fused: Fused) -> list[str]:
    return [memory_id for memory_id, _, _ in fused]


# --- score fusion (the default) ---------------------------------------------------------


def test_score_fusion_adds_similarity_and_bm25_relative_to_the_best_bm25_hit() -> None:
    fused = fuse(
        [
            ranked(SEM, "vector", ("a", 0.8), ("b", 0.6)),
            ranked(SEM, "keyword", ("b", 8.0), ("a", 2.0)),
        ],
        method="score",
    )
    # a: 0.8 + 2/8, b: 0.6 + 8/8 - the hit both retrievers like most wins
    assert scores_of(fused) == {"a": 1.05, "b": 1.6}
    assert order(fused) == ["b", "a"]


def test_score_fusion_does_not_depend_on_the_scale_of_bm25_scores() -> None:
    """BM25 has no fixed scale (it grows with the corpus); only its ratio to the query's
    best keyword hit counts, so rescaling it changes no score."""
    vector = ranked(SEM, "vector", ("a", 0.7), ("b", 0.5))
    small = fuse([vector, ranked(SEM, "keyword", ("b", 2.0), ("a", 1.0))], method="score")
    large = fuse([vector, ranked(SEM, "keyword", ("b", 20.0), ("a", 10.0))], method="score")
    assert scores_of(small) == scores_of(large) == {"a": 1.2, "b": 1.5}


def test_score_fusion_keeps_how_much_better_the_best_hit_is() -> None:
    """Unlike rank fusion, a clearly better hit keeps its lead over a near-miss."""
    lists = [ranked(SEM, "vector", ("close", 0.9), ("far", 0.2))]
    by_score = scores_of(fuse(lists, method="score"))
    assert by_score == {"close": 0.9, "far": 0.2}
    by_rank = scores_of(fuse(lists, method="rrf", k=60))
    assert by_rank["close"] / by_rank["far"] < 1.02 < by_score["close"] / by_score["far"]


def test_a_keyword_only_hit_gets_the_lowest_similarity_its_agent_returned() -> None:
    """A hit the vector search missed is not treated as dissimilar (0): it gets its
    agent's vector floor, so a strong keyword match (a name, a number) can outrank a
    vector hit the keyword search did not find."""
    fused = fuse(
        [
            ranked(SEM, "vector", ("a", 0.7), ("b", 0.4)),
            ranked(SEM, "keyword", ("c", 6.0)),
        ],
        method="score",
    )
    assert scores_of(fused) == {"a": 0.7, "b": 0.4, "c": 1.4}
    assert order(fused) == ["c", "a", "b"]


def test_the_vector_floor_is_per_agent_and_weighted_like_similarity() -> None:
    fused = fuse(
        [
            ranked(SEM, "vector", ("s", 0.8), ("s2", 0.5)),
            ranked(EPI, "vector", ("e", 0.3)),
            ranked(SEM, "keyword", ("k_sem", 4.0)),
            ranked(EPI, "keyword", ("k_epi", 4.0)),
            ranked(PRO, "keyword", ("k_pro", 4.0)),  # procedural returned no vector hit
        ],
        method="score",
        retriever_weights={"vector": 2.0},
    )
    scores = scores_of(fused)
    assert scores["k_sem"] == 2.0 * 0.5 + 1.0
    assert scores["k_epi"] == 2.0 * 0.3 + 1.0
    assert scores["k_pro"] == 1.0  # no vector list, no floor
    assert scores["s"] == 2.0 * 0.8


def test_vector_floors_take_each_agents_lowest_similarity() -> None:
    floors = vector_floors(
        [
            ranked(SEM, "vector", ("a", 0.9), ("b", 0.35)),
            ranked(SEM, "vector", ("c", 0.5)),
            ranked(EPI, "vector", ("d", 0.6)),
            ranked(PRO, "vector"),
            ranked(RES, "keyword", ("e", 0.1)),
        ]
    )
    assert floors == {SEM: 0.35, EPI: 0.6}


def test_graph_proximity_adds_one_over_one_plus_hops() -> None:
    fused = fuse(
        [
            ranked(SEM, "vector", ("a", 0.5), ("b", 0.5)),
            ranked(SEM, "graph", ("b", 1 / (1 + 1)), ("a", 1 / (1 + 2))),
        ],
        method="score",
    )
    assert scores_of(fused) == {"a": round(0.5 + 1 / 3, 6), "b": 1.0}


def test_agent_weights_scale_an_agents_whole_score() -> None:
    lists = [
        ranked(SEM, "vector", ("fact", 0.6)),
        ranked(EPI, "vector", ("event", 0.5)),
        ranked(EPI, "keyword", ("event", 1.0)),
    ]
    assert order(fuse(lists, method="score")) == ["event", "fact"]
    weighted = fuse(lists, method="score", agent_weights={SEM: 3.0, EPI: 0.5})
    assert scores_of(weighted) == {"fact": 1.8, "event": 0.75}
    assert order(weighted) == ["fact", "event"]


def test_retriever_weights_trade_keyword_against_vector() -> None:
    lists = [
        ranked(SEM, "vector", ("meaning", 0.9), ("name", 0.3)),
        ranked(SEM, "keyword", ("name", 5.0)),
    ]
    assert order(fuse(lists, method="score")) == ["name", "meaning"]
    assert order(fuse(lists, method="score", retriever_weights={"keyword": 0.2})) == [
        "meaning",
        "name",
    ]


def test_one_retrievers_lists_merge_across_agents_before_fusion() -> None:
    """Provenance ranks are positions in the retriever's ranking over all agents."""
    fused = fuse(
        [
            ranked(SEM, "vector", ("s1", 0.9), ("s2", 0.4)),
            ranked(EPI, "vector", ("e1", 0.7)),
        ],
        method="score",
    )
    assert order(fused) == ["s1", "e1", "s2"]
    ranks = {m: [(p.agent, p.rank, p.score) for p in prov] for m, _, prov in fused}
    assert ranks == {"s1": [(SEM, 1, 0.9)], "e1": [(EPI, 2, 0.7)], "s2": [(SEM, 3, 0.4)]}


def test_equal_scores_are_ordered_by_id_so_recall_is_repeatable() -> None:
    lists = [ranked(SEM, "vector", ("b", 0.5), ("a", 0.5), ("c", 0.5))]
    assert order(fuse(lists, method="score")) == ["a", "b", "c"]
    assert order(fuse(list(reversed(lists)), method="rrf")) == ["a", "b", "c"]


def test_rank_fusion_weights_each_retriever_and_agent() -> None:
    fused = fuse(
        [ranked(SEM, "vector", ("a", 0.9)), ranked(EPI, "keyword", ("b", 3.0))],
        method="rrf",
        k=10,
        retriever_weights={"keyword": 2.0},
        agent_weights={EPI: 1.5},
    )
    assert scores_of(fused) == {"a": round(1 / 11, 6), "b": round(2.0 * 1.5 / 11, 6)}


# --- query cues -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "asked"),
    [
        ("How do I reset the router?", {PRO}),
        ("What are the steps to renew a passport?", {PRO}),
        ("Which document did Tom send me?", {RES}),
        ("When did we meet Sarah?", {EPI}),
        ("What happened at the trip last year?", {EPI}),
        ("What task am I working on?", {MemoryType.WORKING}),
        ("Which phone am I using?", {MemoryType.CONTEXTUAL}),
        (
            "Where is Tom now and what is he working on?",
            {MemoryType.CONTEXTUAL, MemoryType.WORKING},
        ),
        ("What is my favourite colour?", set()),
    ],
)
def test_a_query_asking_for_a_kind_of_memory_boosts_that_agent(
    query: str, asked: set[MemoryType]
) -> None:
    weights = query_agent_weights(query, {}, 1.5, AGENTS)
    assert weights == dict.fromkeys(asked, 1.5)


def test_cue_boost_multiplies_the_configured_weight_and_keeps_the_others() -> None:
    base = {PRO: 2.0, SEM: 0.8}
    assert query_agent_weights("how to bake bread", base, 1.5, AGENTS) == {PRO: 3.0, SEM: 0.8}
    assert base == {PRO: 2.0, SEM: 0.8}  # the configuration is not changed
    assert query_agent_weights("how to bake bread", base, 1.0, AGENTS) == base


def test_cue_words_must_be_whole_words() -> None:
    # "stepson" is not "step", "footsteps" not "steps", "profiles" not "files"
    for query in ("Who is my stepson?", "Whose footsteps were those?", "Open the profiles"):
        assert query_agent_weights(query, {}, 2.0, AGENTS) == {}


# --- the actor boost --------------------------------------------------------------------


def said_by(memory_id: str, actor: str) -> EpisodicMemory:
    return EpisodicMemory(
        id=memory_id,
        content=f"{actor}: something",
        occurred_at=T0,
        actor=actor,
        event_type="message",
        summary="something",
    )


def test_hits_of_the_person_the_query_names_are_raised() -> None:
    fused: Fused = [("bob1", 0.9, []), ("maria1", 0.7, []), ("bob2", 0.3, [])]
    records = {"bob1": said_by("bob1", "Bob"), "maria1": said_by("maria1", "Maria")}
    records["bob2"] = said_by("bob2", "Bob")
    applied: dict[str, dict[str, float]] = {}
    out = boost_named_actors(
        fused, records, "What did Maria say about the concert?", 2.0, applied=applied
    )
    # the part above the lowest score doubles: 0.3 + (0.7 - 0.3) * 2
    assert [(m, round(s, 6)) for m, s, _ in out] == [("maria1", 1.1), ("bob1", 0.9), ("bob2", 0.3)]
    assert applied == {"maria1": {"actor": 2.0}}  # what a recall hit shows as its boosts


def test_the_actor_boost_never_lifts_a_hit_no_retriever_liked() -> None:
    fused: Fused = [("bob", 0.9, []), ("maria", 0.2, [])]
    records = {"bob": said_by("bob", "Bob"), "maria": said_by("maria", "Maria")}
    out = boost_named_actors(fused, records, "what did maria do", 5.0)
    assert [(m, s) for m, s, _ in out] == [("bob", 0.9), ("maria", 0.2)]


def read_from(
    memory_id: str, actor: str, turn: str, *, raw: bool = False, text: str = "the concert"
) -> EpisodicMemory:
    """A stored turn (`raw`) or an event read from it, both naming the turn as source."""
    record = said_by(memory_id, actor)
    record.content = f"{actor}: {memory_id} {text}"
    record.content_hash = ""  # recomputed from the new text
    record.source = SourceRef(turn_ids=[turn], message_ids=[turn])
    if raw:
        record.internal["raw"] = True
    return EpisodicMemory.model_validate(record.model_dump())


def test_a_memory_read_from_turns_is_raised_only_when_one_of_its_turns_is_a_hit() -> None:
    # "maria-event" was read from a turn the retrievers found; "maria-stray" from one
    # they did not: only the name it shares with the query brought it in
    fused: Fused = [
        ("bob", 0.9, []),
        ("maria-stray", 0.7, []),
        ("maria-event", 0.6, []),
        ("maria-turn", 0.5, []),
        ("floor", 0.1, []),
    ]
    records: dict[str, MemoryBase] = {
        "bob": said_by("bob", "Bob"),
        "maria-stray": read_from("maria-stray", "Maria", "t9"),
        "maria-event": read_from("maria-event", "Maria", "t1"),
        "maria-turn": read_from("maria-turn", "Maria", "t1", raw=True),
    }
    out = boost_named_actors(fused, records, "What did Maria say about the concert?", 2.0)
    assert [(m, round(s, 6)) for m, s, _ in out] == [
        ("maria-event", 1.1),
        ("bob", 0.9),
        ("maria-turn", 0.9),
        ("maria-stray", 0.7),
        ("floor", 0.1),
    ]


def test_a_memory_read_from_turns_is_raised_only_when_it_matches_beyond_the_name() -> None:
    # all three were read from a turn the retrievers found; "maria-park" shares nothing
    # with the query but Maria's name, "maria-gig" no word but is near it in meaning
    vector = [Provenance(agent=MemoryType.EPISODIC, retriever="vector", rank=3)]
    fused: Fused = [
        ("maria-park", 0.7, []),
        ("maria-gig", 0.6, vector),
        ("maria-concert", 0.5, []),
        ("maria-turn", 0.4, []),
        ("floor", 0.1, []),
    ]
    records: dict[str, MemoryBase] = {
        "maria-park": read_from("maria-park", "Maria", "t1", text="took the kids out"),
        "maria-gig": read_from("maria-gig", "Maria", "t1", text="went to a gig"),
        "maria-concert": read_from("maria-concert", "Maria", "t1"),
        "maria-turn": read_from("maria-turn", "Maria", "t1", raw=True),
    }
    out = boost_named_actors(fused, records, "What did Maria say about the concert?", 2.0)
    assert [m for m, _, _ in out] == [
        "maria-gig",
        "maria-concert",
        "maria-turn",
        "maria-park",
        "floor",
    ]
    assert dict((m, round(s, 6)) for m, s, _ in out)["maria-park"] == 0.7  # not raised


def test_a_boost_of_one_changes_nothing() -> None:
    fused: Fused = [("bob", 0.9, []), ("maria", 0.5, []), ("x", 0.1, [])]
    records = {"bob": said_by("bob", "Bob"), "maria": said_by("maria", "Maria")}
    assert boost_named_actors(fused, records, "Maria?", 1.0) == fused


@pytest.mark.parametrize(
    ("query", "name", "named"),
    [
        ("What is Maria's job?", "Maria", True),
        ("what did MARIA say", "Maria", True),
        ("What did Mariana say?", "Maria", False),
        ("Who is Ann Lee?", "Ann Lee", True),
        ("Where is Leeds?", "Lee", False),
        ("anything", "", False),
        ("anything", None, False),
    ],
)
def test_a_name_counts_as_named_only_as_whole_words(
    query: str, name: str | None, named: bool
) -> None:
    assert named_in(query)(name) is named


# --- the keyword query ------------------------------------------------------------------


def test_the_keyword_search_gets_the_querys_content_words() -> None:
    assert keyword_query("What did Maria say about the 1987 Corvette?") == "Maria 1987 Corvette"
    assert keyword_query("Who was it?") == "Who was it?"  # nothing but function words


def test_graph_lookup_tries_the_names_in_the_query() -> None:
    names = query_names("Where does Ann Lee work in New York?")
    assert {"Ann Lee", "New York", "Ann", "York"} <= set(names)
    assert "Lee work" in names  # n-grams of a run of content words
    assert not {"Where", "does", "in"} & set(names)


# --- neighbouring turns (context) -------------------------------------------------------


class Turns:
    """The part of the vector store add_context reads: a filtered list of records."""

    def __init__(self, records: Sequence[MemoryBase]) -> None:
        self.records = list(records)

    async def list(
        self, memory_type: MemoryType, *, where: Filter, live_at: datetime | None = None
    ) -> list[MemoryBase]:
        test = filters.predicate(where)
        return [
            r
            for r in self.records
            if r.memory_type is memory_type and test(r) and (live_at is None or r.is_live(live_at))
        ]


def turn(
    index: int,
    text: str,
    *,
    speaker: str = "Anna",
    role: str = "user",
    batch: str = "b1",
    session: str | None = "s1",
    user: str = "u",
) -> EpisodicMemory:
    return EpisodicMemory(
        id=f"{batch}:{index}:{user}",
        user_id=user,
        session_id=session,
        content=f"{speaker}: {text}",
        occurred_at=T0 + timedelta(minutes=index),
        valid_from=T0,
        created_at=T0,
        actor=speaker,
        event_type="message",
        summary=text,
        internal={"raw": True, "role": role, "batch": batch, "turn_index": index},
    )


def recall_plan(**changes: Any) -> RecallPlan:
    fields: dict[str, Any] = {
        "agents": (EPI, SEM),
        "user_id": "u",
        "now": T0 + timedelta(days=1),
        "turns": EPI,
    }
    return RecallPlan(**{**fields, **changes})


def with_context(
    stored: Sequence[MemoryBase],
    fused: list[tuple[str, float]],
    *,
    hits: int = 20,
    weight: float = 0.6,
    **plan: Any,
) -> tuple[dict[str, float], dict[str, list[Provenance]]]:
    records = {r.id: r for r in stored if r.id in dict(fused)}
    out = asyncio.run(
        add_context(
            SimpleNamespace(vector=Turns(stored), turn_log=EpisodicAgent()),  # type: ignore[arg-type]
            recall_plan(**plan),
            [(i, s, []) for i, s in fused],
            records,
            hits=hits,
            weight=weight,
        )
    )
    assert set(records) >= {i for i, _, _ in out}  # the neighbours fetched are handed back
    return scores_of(out), {i: p for i, _, p in out}


@pytest.fixture
def chat() -> list[MemoryBase]:
    return [
        turn(0, "I finally booked the flights.", speaker="Ben"),
        turn(1, "What did you do last weekend?", speaker="Ben"),
        turn(2, "Went hiking with Sam near the lake.", speaker="Anna"),
        turn(3, "Sounds lovely.", speaker="Ben"),
        SemanticMemory(id="fact", user_id="u", content="x", subject="a", attribute="b", value="c"),
    ]


def test_the_answer_after_a_matching_question_joins_the_ranking(chat: list[MemoryBase]) -> None:
    question, answer, before = chat[1].id, chat[2].id, chat[0].id
    scores, provenance = with_context(chat, [(question, 0.9), ("fact", 0.4)])
    # the answer gains 0.6 of the question's lead over the floor; the turn before, half that
    assert scores == {question: 0.9, answer: 0.4 + 0.6 * 0.5, before: 0.4 + 0.3 * 0.5, "fact": 0.4}
    assert [(p.retriever, p.rank) for p in provenance[answer]] == [("context", 1)]


def test_a_matching_statement_lifts_only_the_turn_before_it(chat: list[MemoryBase]) -> None:
    statement, question, after = chat[2].id, chat[1].id, chat[3].id
    scores, _ = with_context(chat, [(statement, 0.8), ("fact", 0.2)])
    assert scores == {statement: 0.8, question: round(0.2 + 0.3 * 0.6, 6), "fact": 0.2}
    assert after not in scores


def test_context_adds_to_a_neighbour_already_found(chat: list[MemoryBase]) -> None:
    question, answer, before = chat[1].id, chat[2].id, chat[0].id
    scores, provenance = with_context(chat, [(question, 1.0), (answer, 0.5), ("fact", 0.0)])
    # the answer gains from the question before it, the question from the answer after it
    assert scores == {question: 1.15, answer: 1.1, before: 0.3, "fact": 0.0}
    assert [p.retriever for p in provenance[answer]] == ["context"]
    assert [p.rank for p in provenance[question]] == [2]


def test_only_the_best_hits_and_hits_above_the_floor_bring_context(
    chat: list[MemoryBase],
) -> None:
    question = chat[1].id
    assert with_context(chat, [("fact", 0.9), (question, 0.5)], hits=1)[0] == {
        "fact": 0.9,
        question: 0.5,
    }
    assert with_context(chat, [("fact", 0.5), (question, 0.5)])[0] == {"fact": 0.5, question: 0.5}
    assert with_context(chat, [(question, 0.9), ("fact", 0.4)], weight=0.0)[0] == {
        question: 0.9,
        "fact": 0.4,
    }


def test_anonymous_user_and_assistant_turns_keep_their_own_scores() -> None:
    stored = [
        turn(0, "What should I cook tonight?", speaker="user", role="user"),
        turn(1, "Try a mushroom risotto.", speaker="assistant", role="assistant"),
    ]
    scores, _ = with_context(stored, [(stored[0].id, 0.9), (stored[1].id, 0.1)])
    assert scores == {stored[0].id: 0.9, stored[1].id: 0.1}


def test_neighbours_are_turns_of_the_same_call_session_and_user() -> None:
    question = turn(1, "Where did you go on Friday?", speaker="Ben")
    stored = [
        question,
        turn(2, "To the cinema.", batch="other-call"),
        turn(2, "To the zoo.", session="s2"),
        turn(2, "To the opera.", user="someone-else"),
        SemanticMemory(id="fact", user_id="u", content="x", subject="a", attribute="b", value="c"),
    ]
    scores, _ = with_context(stored, [(question.id, 0.9), ("fact", 0.1)])
    assert scores == {question.id: 0.9, "fact": 0.1}


def test_context_needs_the_episodic_agent_in_the_recall(chat: list[MemoryBase]) -> None:
    question = chat[1].id
    scores, _ = with_context(chat, [(question, 0.9), ("fact", 0.4)], agents=[SEM])
    assert scores == {question: 0.9, "fact": 0.4}


# --- same-text collapse -----------------------------------------------------------------


def fact(memory_id: str, content: str) -> SemanticMemory:
    return SemanticMemory(
        id=memory_id, user_id="u", content=content, subject="user", attribute="a", value="v"
    )


def prov(agent: MemoryType, rank: int) -> list[Provenance]:
    return [Provenance(agent=agent, retriever="vector", rank=rank, score=0.5)]


def test_the_same_text_from_two_agents_appears_once_with_the_better_score() -> None:
    records: dict[str, MemoryBase] = {
        "sem": fact("sem", "Anna works at Acme."),
        "edge": KnowledgeMemory(
            id="edge",
            user_id="u",
            content="Anna works at Acme.",
            subject="Anna",
            predicate="works_at",
            object="Acme",
        ),
        "other": fact("other", "Anna likes tea."),
    }
    fused = [
        ("edge", 0.9, prov(MemoryType.KNOWLEDGE, 1)),
        ("other", 0.7, prov(SEM, 2)),
        ("sem", 0.6, prov(SEM, 3)),
    ]
    hits = _collapse_same_text(records, fused, {}, {}, keep=10)
    assert [(h.id, h.score) for h in hits] == [("edge", 0.9), ("other", 0.7)]
    assert [(p.agent, p.rank) for p in hits[0].provenance] == [
        (MemoryType.KNOWLEDGE, 1),
        (SEM, 3),
    ]
    # only the first `keep` are returned, each with the provenance of its later twins
    (first,) = _collapse_same_text(records, fused, {}, {}, keep=1)
    assert first.model_dump() == hits[0].model_dump()


def test_a_stale_hit_shows_what_replaces_it_once_per_text() -> None:
    records: dict[str, MemoryBase] = {
        "turn": fact("turn", "I live in Paris."),
        "berlin": fact("berlin", "The user lives in Berlin."),
    }
    twin = fact("berlin-2", "The user lives in Berlin.")
    hits = _collapse_same_text(
        records,
        [("berlin", 0.9, []), ("turn", 0.5, [])],
        {"turn": [records["berlin"], twin]},
        {"turn": {"stale": 0.3}},
        keep=10,
    )
    assert [h.id for h in hits] == ["berlin", "turn"]
    assert (hits[0].boosts, hits[1].boosts) == ({}, {"stale": 0.3})
    # the replacement already shown above is the one named, not its twin
    assert [r.id for r in hits[1].replaced_by] == ["berlin"]
    assert hits[0].replaced_by == []


@pytest.mark.parametrize(
    ("user_id", "named"),
    [
        ("ana", True),
        ("Ana", True),
        ("mary-jane", True),
        ("user-42", False),
        ("u1", False),
        ("the", False),
        (None, False),
        ("bob", False),
    ],
)
def test_a_query_naming_the_user_by_their_id_asks_for_the_user(
    user_id: str | None, named: bool
) -> None:
    query = "Where do ana and mary-jane live?"
    assert names_user(query, user_id) is named
    assert ("user" in query_names(query, user_id)) is named
