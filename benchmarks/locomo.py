"""`python -m benchmarks locomo`: dialog-level evidence recall on LoCoMo-format conversations.

Every conversation is ingested session by session through the real `process()` path
(raw turns, LLM-free; optionally offline extraction too), each session's date as the
message timestamp and every turn's `dia_id` as its message id. Then each of its
questions of categories 1-4 is asked of octomem's `recall` and of baselines built on the
same stored turns and the same embedder: dense only, BM25 only and plain RRF of the two
(and mem0 OSS, when installed), and each answer kept per question (`Answer`: the rank at
which each evidence turn was found). The annotations (observation, session summaries,
event summaries) and the answers are never read. LongMemEval-S, converted to the same
schema (one sample per question), runs the same way; a `.gz` file is read as it is.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.locomo_format import turn_text
from benchmarks.locomo_scores import KS, Answer, Scores
from benchmarks.metrics import evidence_ranks, parse_evidence, session_ranks
from octomem.embeddings import Embedder
from octomem.errors import InvalidInputError
from octomem.models import MemoryType
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.fusion import fuse
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.lifecycle import build_embedder
from octomem.orchestrator.retrieval import keyword_query
from octomem.plans import RankedList
from octomem.settings import load_settings

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
# LongMemEval converted to LoCoMo's schema (../shared/bench/README.md) numbers its types so
LONGMEMEVAL_CATEGORIES = {
    1: "multi-session",
    2: "temporal-reasoning",
    3: "knowledge-update",
    4: "single-session",
}
TUNED = ("conv-26", "conv-30")  # the conversations octomem's recall defaults were tuned on
INGESTED = ".ingested"  # written in a conversation's data directory once it is stored whole


@dataclass
class Question:
    text: str
    category: int
    evidence: list[str]
    index: int = 0  # position in the sample's `qa` list
    question_type: str | None = None  # LongMemEval's type, when the sample has one
    asked_at: datetime | None = None  # LongMemEval's question date: recall's "now"


@dataclass
class Conversation:
    sample_id: str
    sessions: list[tuple[int, datetime, list[dict[str, Any]]]]
    questions: list[Question] = field(default_factory=list)
    skipped: int = 0  # questions of categories 1-4 without usable evidence

    @property
    def dia_ids(self) -> set[str]:
        return {t["dia_id"] for _, _, turns in self.sessions for t in turns}


def parse_session_date(text: str) -> datetime:
    """ "1:56 pm on 8 May, 2023" -> 2023-05-08 13:56 UTC."""
    cleaned = re.sub(r"\s+", " ", text.strip())
    return datetime.strptime(cleaned, "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def parse_question_date(text: str | None) -> datetime | None:
    """LongMemEval's "2023/02/10 (Fri) 18:44" -> 2023-02-10 18:44 UTC; None without one."""
    if not text:
        return None
    cleaned = re.sub(r"\s*\(\w+\)\s*", " ", text.strip())
    return datetime.strptime(cleaned, "%Y/%m/%d %H:%M").replace(tzinfo=UTC)


def load_locomo(
    path: Path,
    *,
    limit: int | None = None,
    only: Sequence[str] | None = None,
    part: tuple[int, int] | None = None,
) -> list[Conversation]:
    """The samples of a LoCoMo-format file (.json or .json.gz): `only` these ids, `part`
    (k, n) = every n-th sample from the k-th (1-based, in file order), the first `limit`."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    samples = json.loads(raw.decode("utf-8"))
    conversations: list[Conversation] = []
    for position, sample in enumerate(samples):
        if only and sample["sample_id"] not in only:
            continue
        if part is not None and position % part[1] != part[0] - 1:
            continue
        conv = sample["conversation"]
        sessions = []
        n = 1
        while f"session_{n}" in conv:  # some samples list more dates than sessions
            when = parse_session_date(conv[f"session_{n}_date_time"])
            sessions.append((n, when, list(conv[f"session_{n}"])))
            n += 1
        item = Conversation(sample_id=sample["sample_id"], sessions=sessions)
        known = item.dia_ids
        asked_at = parse_question_date((sample.get("longmemeval") or {}).get("question_date"))
        for index, qa in enumerate(sample["qa"]):
            if qa.get("category") not in CATEGORIES:
                continue
            evidence = parse_evidence(qa.get("evidence", []), known)
            if evidence:
                item.questions.append(
                    Question(
                        str(qa["question"]),
                        qa["category"],
                        evidence,
                        index=index,
                        question_type=qa.get("question_type"),
                        asked_at=asked_at,
                    )
                )
            else:
                item.skipped += 1
        conversations.append(item)
        if limit is not None and len(conversations) >= limit:
            break
    return conversations


def messages_of(turns: list[dict[str, Any]], when: datetime) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": turn_text(t),
            "name": t["speaker"],
            "id": t["dia_id"],
            "timestamp": when,
        }
        for t in turns
        if turn_text(t)
    ]


Ranked = list[list[str]]  # per hit, the dia_ids it comes from
System = Callable[[Conversation, Question, int], Ranked]


class OctomemUnderTest:
    """octomem on fresh stores per conversation (one memory per conversation, as in LoCoMo;
    BM25 statistics are then the conversation's own), all sharing one loaded embedder."""

    def __init__(
        self, data_dir: Path, embedder: Embedder | None, *, infer: bool, config: Path | None = None
    ) -> None:
        self.data_dir = data_dir
        self.config = config
        if embedder is None:
            embedder = build_embedder(load_settings(config))
        self.embedder = embedder
        self.infer = infer
        self.orchs: dict[str, Orchestrator] = {}
        self.turn_ids: dict[str, set[str]] = defaultdict(set)  # raw-turn record ids per user

    def orch_for(self, conv: Conversation) -> Orchestrator:
        if conv.sample_id not in self.orchs:
            settings = load_settings(self.config, data_dir=self.data_dir / conv.sample_id)
            self.orchs[conv.sample_id] = Orchestrator(settings, embedder=self.embedder)
        return self.orchs[conv.sample_id]

    def ingest(self, conv: Conversation, progress: tqdm) -> None:
        """Store the conversation's sessions; a conversation this data directory already
        holds whole (`--keep`: its marker is written last) is read back instead."""
        orch = self.orch_for(conv)
        marker = self.data_dir / conv.sample_id / INGESTED
        if marker.is_file():
            if marker.read_text() != self._marker_text:
                raise InvalidInputError(
                    f"{marker.parent} was ingested otherwise ({marker.read_text().strip()}); "
                    "give --keep another directory"
                )
            self.turn_ids[conv.sample_id] = self._stored_turns(conv)
            progress.update(sum(len(turns) for _, _, turns in conv.sessions))
            return
        for n, when, turns in conv.sessions:
            messages = messages_of(turns, when)
            if messages:
                result = orch.process(
                    messages,
                    user_id=conv.sample_id,
                    session_id=f"session_{n}",
                    timestamp=when,
                    infer=self.infer,
                )
                self.turn_ids[conv.sample_id].update(result.turn_memory_ids)
            progress.update(len(turns))
        marker.parent.mkdir(parents=True, exist_ok=True)  # server stores write nothing here
        marker.write_text(self._marker_text)

    @property
    def _marker_text(self) -> str:
        return f"ingested with infer={self.infer}\n"

    def _stored_turns(self, conv: Conversation) -> set[str]:
        orch = self.orch_for(conv)
        where = {"AND": [{"user_id": conv.sample_id}, {"event_type": "message"}]}
        records = orch.run_sync(services_of(orch).vector.list(MemoryType.EPISODIC, where=where))
        return {record.id for record in records}

    def octomem(self, conv: Conversation, q: Question, k: int) -> Ranked:
        result = self.orch_for(conv).recall(q.text, user_id=conv.sample_id, limit=k, now=q.asked_at)
        return [list(hit.memory.source.message_ids) for hit in result.hits]

    # --- baselines on the same stored turns and the same embedder -----------------------

    def _dense(self, conv: Conversation, q: Question, k: int) -> list[tuple[str, float]]:
        orch = self.orch_for(conv)
        services = services_of(orch)  # a baseline: the vector store alone
        [embedding] = orch.run_sync(orch.embedder.embed([q.text]))
        where = {"AND": [{"user_id": conv.sample_id}, {"event_type": "message"}]}
        hits = orch.run_sync(
            services.vector.query(MemoryType.EPISODIC, embedding, where=where, limit=k)
        )
        return [(record.id, score) for record, score in hits]

    def _bm25(self, conv: Conversation, q: Question, k: int) -> list[tuple[str, float]]:
        raw = self.turn_ids[conv.sample_id]
        orch = self.orch_for(conv)
        found = orch.run_sync(
            services_of(orch).keyword.search(  # a baseline: the keyword index alone
                keyword_query(q.text),
                user_id=conv.sample_id,
                memory_types=[MemoryType.EPISODIC],
                limit=4 * k,
            )
        )
        return [(i, s) for i, _, s in found if i in raw][:k]

    def _to_dia(self, conv: Conversation, ids: Sequence[str]) -> Ranked:
        orch = self.orch_for(conv)
        records = orch.run_sync(orch.records.get(MemoryType.EPISODIC, ids))
        by_id = {r.id: list(r.source.message_ids) for r in records}
        return [by_id.get(i, []) for i in ids]

    def dense(self, conv: Conversation, q: Question, k: int) -> Ranked:
        return self._to_dia(conv, [i for i, _ in self._dense(conv, q, k)])

    def bm25(self, conv: Conversation, q: Question, k: int) -> Ranked:
        return self._to_dia(conv, [i for i, _ in self._bm25(conv, q, k)])

    def rrf(self, conv: Conversation, q: Question, k: int) -> Ranked:
        pool = max(50, k)
        lists = [
            RankedList(
                agent=MemoryType.EPISODIC,
                retriever=name,
                ids=[i for i, _ in hits],
                scores=[s for _, s in hits],
            )
            for name, hits in (
                ("vector", self._dense(conv, q, pool)),
                ("keyword", self._bm25(conv, q, pool)),
            )
        ]
        fused = fuse(lists, k=60, method="rrf")
        return self._to_dia(conv, [i for i, _, _ in fused[:k]])

    def done_with(self, conv: Conversation) -> None:
        """Close a conversation's stores once every system has been asked its questions:
        a run over many conversations (LongMemEval: one per question) keeps one open."""
        orch = self.orchs.pop(conv.sample_id, None)
        if orch is not None:
            orch.close()

    def close(self) -> None:
        for orch in self.orchs.values():
            orch.close()
        self.orchs.clear()


def run_locomo(
    path: Path,
    *,
    limit: int | None = None,
    only: Sequence[str] | None = None,
    part: tuple[int, int] | None = None,
    infer: bool = False,
    with_mem0: bool = True,
    data_dir: Path | None = None,
    config: Path | None = None,
    log: Callable[[str], None] = print,
) -> tuple[Scores, list[Conversation], list[str]]:
    """Ingest, ask every question of every system, return the scores. `config` is
    octomem's YAML config (its stores: server mode shares them among the conversations,
    each a user of its own); its data_dir is replaced by one per conversation."""
    conversations = load_locomo(path, limit=limit, only=only, part=part)
    if not conversations:
        raise InvalidInputError(f"no conversations to run in {path}")
    tmp = tempfile.TemporaryDirectory(prefix="octomem-bench-") if data_dir is None else None
    root = Path(tmp.name) if tmp else Path(data_dir)  # type: ignore[arg-type]
    octo = OctomemUnderTest(root / "octomem", None, infer=infer, config=config)
    systems: dict[str, System] = {
        "octomem": octo.octomem,
        "dense": octo.dense,
        "bm25": octo.bm25,
        "rrf": octo.rrf,
    }
    mem0 = None
    if with_mem0:
        from benchmarks.mem0_adapter import Mem0UnderTest, mem0_missing

        reason = mem0_missing()
        if reason:
            log(f"mem0 skipped: {reason}")
        else:
            mem0 = Mem0UnderTest(root / "mem0")
            systems["mem0"] = mem0.search
    try:
        scores = Scores()
        turns = sum(len(t) for c in conversations for _, _, t in c.sessions)
        total = turns * (2 if mem0 is not None else 1)
        questions = sum(len(c.questions) for c in conversations)
        with (
            tqdm(total=total, desc="ingest", unit="turn", position=0) as ingested,
            tqdm(total=questions * len(systems), desc="recall", unit="query", position=1) as asked,
        ):
            for conv in conversations:  # one at a time: only its stores are open
                octo.ingest(conv, ingested)
                if mem0 is not None:
                    mem0.ingest(conv, ingested)
                for name, system in systems.items():
                    for q in conv.questions:
                        ranked = system(conv, q, max(KS))
                        ranks = evidence_ranks(q.evidence, ranked)
                        sessions = session_ranks(q.evidence, ranked)
                        scores.add(
                            Answer(
                                name,
                                conv.sample_id,
                                q.index,
                                q.category,
                                q.question_type,
                                ranks,
                                sessions,
                            )
                        )
                        asked.update(1)
                octo.done_with(conv)
    finally:
        octo.close()
        if mem0 is not None:
            mem0.close()
        if tmp is not None:
            tmp.cleanup()
    return scores, conversations, list(systems)
