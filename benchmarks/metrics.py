"""The LoCoMo retrieval metric: dialog-level evidence recall@k.

For one question, recall@k is the share of its evidence turns (dia_ids) found among the
turns behind its top-k hits; a hit derived from a turn (an extracted fact, an event)
counts as that turn. The reported number is the mean over questions.

Session-level recall_any@k (as LongMemEval's published retrieval results report it): the
sessions of a ranking are those of its hits in order of their first hit (a dia_id
"D3:7" is of session "D3"); a question scores 1 if one of its evidence sessions is among
the first k.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from statistics import fmean

from octomem.errors import InvalidInputError

_ID = re.compile(r"^D(\d+):(\d+)$")


def parse_evidence(raw: Iterable[str], known: Collection[str] | None = None) -> list[str]:
    """Normalise a question's evidence list: split "D8:6; D9:17", fix "D:11:26", drop
    malformed ids and (with `known`) ids the conversation does not have."""
    found: list[str] = []
    for item in raw:
        for part in re.split(r"[;,\s]+", str(item)):
            part = part.strip().replace("D:", "D")
            match = _ID.match(part)
            if match is None:
                continue
            dia_id = f"D{int(match[1])}:{int(match[2])}"
            if known is None or dia_id in known:
                found.append(dia_id)
    return list(dict.fromkeys(found))


def recall_at_k(evidence: Collection[str], ranked: Sequence[Iterable[str]], k: int) -> float:
    """Share of `evidence` among the turns of the first `k` hits (each hit: its dia_ids)."""
    if not evidence:
        raise InvalidInputError("a question without evidence has no recall; leave it out")
    if k < 1:
        raise InvalidInputError(f"k must be at least 1, got {k}")
    seen: set[str] = set()
    for turns in ranked[:k]:
        seen.update(turns)
    return len(seen & set(evidence)) / len(set(evidence))


def mean_recall(values: Sequence[float]) -> float:
    return fmean(values) if values else float("nan")


def evidence_ranks(
    evidence: Sequence[str], ranked: Sequence[Iterable[str]]
) -> dict[str, int | None]:
    """Per evidence turn, the rank (1-based) of the first hit that holds it, or None."""
    ranks: dict[str, int | None] = dict.fromkeys(evidence)
    for rank, turns in enumerate(ranked, start=1):
        for turn in turns:
            if turn in ranks and ranks[turn] is None:
                ranks[turn] = rank
    return ranks


def recall_from_ranks(ranks: Sequence[int | None], k: int) -> float:
    """recall@k from `evidence_ranks`: the share of evidence turns found within rank k."""
    if not ranks:
        raise InvalidInputError("a question without evidence has no recall; leave it out")
    if k < 1:
        raise InvalidInputError(f"k must be at least 1, got {k}")
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def session_of(dia_id: str) -> str:
    """The session of a turn: "D3" for "D3:7"."""
    return dia_id.split(":", 1)[0]


def session_ranks(
    evidence: Sequence[str], ranked: Sequence[Iterable[str]]
) -> dict[str, int | None]:
    """Per evidence session, its rank (1-based) among the sessions of the hits, in order
    of their first hit, or None."""
    order: dict[str, int] = {}
    for turns in ranked:
        for turn in turns:
            order.setdefault(session_of(turn), len(order) + 1)
    return {s: order.get(s) for s in dict.fromkeys(session_of(e) for e in evidence)}


def any_within(ranks: Iterable[int | None], k: int) -> float:
    """1.0 if one of `ranks` is within k, else 0.0 (recall_any@k of one question)."""
    return 1.0 if any(r is not None and r <= k for r in ranks) else 0.0
