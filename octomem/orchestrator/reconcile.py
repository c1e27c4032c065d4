"""Reconcile extracted candidates against what is stored: exact dedup, conflict, near-dup.

For each candidate, in the order it was said:

1. exact: a stored record with the same deterministic id and the same content is a NOOP;
   the same id with new content is an UPDATE through the agent's merge. The same id of
   a superseded record (the user moved back to Paris) becomes a new record.
2. conflict: current records of the same scope and type with the same conflict key are
   SUPERSEDEd (policy supersede: valid_to set, new record added) or merged in place
   (policy update).
3. near-duplicate: the nearest current record of the same scope and type with cosine
   similarity above the configured threshold is UPDATEd by merging (or NOOP when the
   merge changes nothing).
4. otherwise ADD.

Candidates decided earlier in the same batch are visible to later ones, so "I live in
Paris ... actually I just moved to Berlin" in one conversation supersedes correctly.

A retraction candidate (`internal[RETRACTS]`, from the offline rules: "I left Google")
is never stored: it closes the current facts of its subject and attribute (of its value,
if it names one) exactly as an LLM DELETE does, and closes nothing when none is current.

With an LLM, candidates that are not exact duplicates and have related stored memories
are first decided by one batched LLM call (`llm_decisions`); its verdict replaces steps
2-3 (a description of an attached image is not asked about: it is one record per image,
kept by id), except that a conflict-key rival is always closed when a new value is added, so one
current value per key holds whatever the model says.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from octomem import filters, offload, scopes
from octomem.agents.base import RETRACTS, ConflictPolicy, MemoryAgent
from octomem.at_once import at_once
from octomem.embeddings import embed_for
from octomem.errors import LLMError
from octomem.language import norm_key
from octomem.llm import LLMClient, UsageMeter
from octomem.logs import get_logger
from octomem.models import MemoryBase, MemoryType, Operation, StepError
from octomem.orchestrator import llm_decisions, validity
from octomem.orchestrator.llm_decisions import Verdict
from octomem.orchestrator.pending import Pending
from octomem.orchestrator.services import Services
from octomem.plans import Decision
from octomem.scopes import ANY
from octomem.stores.base import Filter

log = get_logger(__name__)
T = TypeVar("T")
PREFETCH_AT_ONCE = 8  # a batch's reads in flight at once (`Reconciler._prefetch`)
# internal keys of a memory an LLM DELETE closed: the retracting candidate (never stored)
RETRACTED_BY, RETRACTED_TURNS = "retracted_by", "retracted_by_turns"


class Reconciler:
    """Decides one batch of candidates; holds the batch's own decisions as an overlay."""

    def __init__(
        self,
        services: Services,
        now: datetime,
        *,
        llm: LLMClient | None = None,
        meter: UsageMeter | None = None,
        edited: Iterable[str] = (),
        repeated: Iterable[str] = (),
        retold: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.services = services
        self.edited = frozenset(edited)  # turns sent with words never sent before: read anew
        self.repeated = frozenset(repeated)  # turns sent with words sent before: a replay
        # replayed turns -> the types the offline rules read in them with these words
        self.retold = retold or {}
        self._deleted: set[str] = set()  # candidates whose memory was deleted since
        self.now = now
        self.threshold = services.settings.reconcile.near_duplicate_threshold
        self.llm = llm
        self.meter = meter or UsageMeter()
        self.errors: list[StepError] = []
        self._pending = Pending()  # the batch's decisions: records as they will be after writes
        # the closed versions of each fact whose rivals were read (`_rivals`), by fact
        self._closed: dict[validity.Key, list[MemoryBase]] = {}
        # the stores' answers, by what was asked: nothing writes them before the commit,
        # so each is read once, and what a batch reads first is read at once (`_prefetch`)
        self._read: dict[Hashable, asyncio.Future[Any]] = {}

    async def decide(
        self,
        candidates: Sequence[MemoryBase],
        *,
        beside: Callable[[list[MemoryBase]], Awaitable[object]],
    ) -> list[Decision]:
        """The decision on each of `candidates`. `beside(facts)`: reads of the caller's
        for the facts decided that are not replays, sent with the batch's first reads."""
        ordered = await offload.cpu(len(candidates), lambda: self._keyed(candidates))
        if ordered:
            # one batch, cached for `_near_duplicate`
            texts, users = [r.content for r in ordered], [r.user_id for r in ordered]
            await embed_for(self.services.embedder, texts, users)
        facts = [c for c in ordered if not c.internal.get(RETRACTS)]
        await self._prefetch(facts, beside)
        verdicts = await self._ask_llm(self.llm, facts) if self.llm is not None and facts else {}
        by_candidate = {id(facts[index]): verdict for index, verdict in verdicts.items()}
        decisions = []
        for candidate in ordered:
            await asyncio.sleep(0)  # a turn for the loop's other tasks (reads may be cached)
            agent = self.services.agents[candidate.memory_type]
            if candidate.internal.get(RETRACTS):
                decided = await self._retract(candidate)
            else:
                decided = [await self._told_once(agent, candidate, by_candidate.get(id(candidate)))]
            for decision in decided:
                if decision.record.id in self._deleted:  # nothing stored, nothing to see
                    decisions.append(decision)
                    continue
                kept = await validity.in_turn(
                    self.services,
                    decision,
                    self._scope,
                    self._pending.latest,
                    self._closed.get(validity.fact(self.services, decision.record), ()),
                )
                for record in (*kept.previous, kept.record):  # an UPDATE's record wins
                    self._pending.put(record)
                decisions.append(kept)
        return decisions

    def _keyed(self, candidates: Sequence[MemoryBase]) -> list[MemoryBase]:
        """The candidates, each said once, in the order said, with their conflict keys."""
        ordered = sorted(_dedupe(candidates, self.services), key=lambda r: r.valid_from)
        return [
            c.model_copy(
                update={"conflict_key": self.services.agents[c.memory_type].conflict_key(c)}
            )
            for c in ordered
        ]

    async def _ask_llm(self, llm: LLMClient, ordered: list[MemoryBase]) -> dict[int, Verdict]:
        related: list[list[MemoryBase]] = []
        for candidate in ordered:
            existing = await self._get(candidate.memory_type, candidate.id)
            if existing is not None and existing.content_hash == candidate.content_hash:
                related.append([])  # exact duplicates never reach the LLM
                continue
            if isinstance(candidate.internal.get("media"), dict):
                # what an image was seen to show (`vision`): kept by its id beside the
                # image's OCR text, which a verdict must not rewrite
                related.append([])
                continue
            related.append(
                await llm_decisions.related_memories(
                    self.services, candidate, self._scope(candidate), self.now
                )
            )
        try:
            return await llm_decisions.ask(llm, self.meter, ordered, related)
        except LLMError as exc:
            log.warning("llm reconcile failed; the rules decide", error=str(exc))
            self.errors.append(StepError(step="reconcile", message=str(exc)))
            return {}

    async def _prefetch(
        self,
        facts: Sequence[MemoryBase],
        beside: Callable[[list[MemoryBase]], Awaitable[object]],
    ) -> None:
        """Read at once what deciding `facts` one by one reads first: each one's stored
        record by its id (a request per memory type) and, with no model to ask, the
        conflict-key rivals or nearest neighbours of each not taken again from turns sent
        before (a replay: its record by id decides it). On a server that is one round trip
        for the batch where it was two for each fact; a fact stored under its id by an
        earlier call with other words reads its rivals for nothing, beside its record."""
        ids: dict[MemoryType, list[str]] = {}
        for fact in facts:
            ids.setdefault(fact.memory_type, []).append(fact.id)

        async def by_id(memory_type: MemoryType, of_type: list[str]) -> None:
            found = {r.id: r for r in await self.services.vector.get(memory_type, of_type)}
            for memory_id in of_type:
                self._known(("get", memory_type, memory_id), found.get(memory_id))

        reads: list[Awaitable[object]] = [by_id(t, of_type) for t, of_type in ids.items()]
        reads.append(beside([fact for fact in facts if not self._replay(fact)]))
        for fact in facts if self.llm is None else ():  # a model's verdicts say what else
            if self._replay(fact):  # stored under its id, almost always; else read if needed
                continue
            if fact.conflict_key is not None:
                reads.append(self._stored_rivals(fact, ("conflict_key", fact.conflict_key)))
            elif self.services.agents[fact.memory_type].merges_near_duplicates(fact):
                reads.append(self._nearest(fact))
        await at_once(reads, limit=PREFETCH_AT_ONCE)

    def _known(self, key: Hashable, value: object) -> None:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(value)
        self._read[key] = future

    async def _once(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`'s answer, asked of the store once per batch (a second caller of the
        same `key` waits for the first's)."""
        if key not in self._read:
            self._read[key] = asyncio.ensure_future(read())
        return cast(T, await self._read[key])

    async def _get(self, memory_type: MemoryType, memory_id: str) -> MemoryBase | None:
        if (pending := self._pending.get(memory_id)) is not None:
            return pending

        async def read() -> MemoryBase | None:
            found = await self.services.vector.get(memory_type, [memory_id])
            return found[0] if found else None

        return await self._once(("get", memory_type, memory_id), read)

    def _replayed(self, candidate: MemoryBase, stored: MemoryBase) -> bool:
        """`replayed`, unless the candidate was read in an edit (`edits`)."""
        return not self.edited.intersection(candidate.source.turn_ids) and replayed(
            candidate, stored
        )

    async def _gone(self, candidate: MemoryBase) -> Decision | None:
        """A NOOP if `candidate`, not stored under its id and taken again from turns sent
        before with the same words (a call made again, or a conversation sent again
        whole), is a memory deleted since: a replay does not undo a deletion. The history
        is asked only about such a candidate."""
        if not self._replay(candidate):
            return None
        events = await self.services.history.for_memory(candidate.id)
        if not events or events[-1].operation is not Operation.DELETE:
            return None
        self._deleted.add(candidate.id)
        return _noop(candidate, "deleted since it was taken from these turns")

    def _replay(self, candidate: MemoryBase) -> bool:
        """Whether `candidate` was taken again from turns sent before with these words."""
        turns = candidate.source.turn_ids
        return bool(turns) and self.repeated.issuperset(turns)

    def _retold(self, candidate: MemoryBase) -> bool:
        """Whether the rules of `candidate`'s type read each of its turns, with these words,
        in a call committed before (`rules_read`): it tells nothing that call did not. Not
        in a call that holds an edit, which is read as before the marks: what an edit says
        may change what the other turns give."""
        turns = candidate.source.turn_ids
        kind = candidate.memory_type.value
        return (
            bool(turns)
            and not self.edited
            and all(t in self.repeated and kind in self.retold.get(t, ()) for t in turns)
        )

    async def _told_once(
        self, agent: MemoryAgent, candidate: MemoryBase, verdict: Verdict | None
    ) -> Decision:
        """`_decide_one`, but a NOOP for a candidate `_retold`: a memory it would change now
        (reworded with a name learned since), or one not stored (deleted since), stays."""
        decided = await self._decide_one(agent, candidate, verdict)
        if decided.operation is Operation.NOOP or not self._retold(candidate):
            return decided
        existing = await self._get(candidate.memory_type, candidate.id)
        if existing is None:  # nothing stored to show for it
            self._deleted.add(candidate.id)
        return _noop(existing or candidate, "already read from these turns")

    async def _decide_one(
        self, agent: MemoryAgent, candidate: MemoryBase, verdict: Verdict | None = None
    ) -> Decision:
        existing = await self._get(candidate.memory_type, candidate.id)
        if existing is None and (gone := await self._gone(candidate)):
            return gone
        if existing is not None and not existing.is_current and said_while(candidate, existing):
            # said while it held (a retry of that call, or a message dated back then): a
            # restatement of what was true then, not a return to it
            return _noop(existing, "true when said, superseded since")
        if (
            existing is not None
            and not existing.is_current
            and not self._replayed(candidate, existing)
        ):
            # the same fact was true before and was superseded: it is true again, as a new record
            new_id = self.services.types.make_id(
                candidate.memory_type, candidate.id, candidate.valid_from
            )
            candidate = candidate.model_copy(update={"id": new_id})
            existing = await self._get(candidate.memory_type, new_id)
            if existing is None and (gone := await self._gone(candidate)):
                return gone
        if existing is not None:
            if existing.content_hash == candidate.content_hash:
                return _noop(existing, "exact duplicate of a stored memory")
            if self._replayed(candidate, existing):
                return _noop(existing, "already stored from the same turns")
            return self._merged(agent, existing, candidate, "same memory, new content")

        if self.llm is not None and (retracted := await self._retracted(candidate)):
            return _noop(retracted, "already retracted from the same turns")
        if verdict is not None:
            decided = self._apply(agent, candidate, verdict)
            if decided is not None and decided.operation is Operation.SUPERSEDE:
                decided = await self._with_rivals(decided, candidate)
            if decided is not None:
                return decided
        if candidate.conflict_key is not None:
            rivals = await self._rivals(candidate, ("conflict_key", candidate.conflict_key))
            same = [r for r in rivals if r.content_hash == candidate.content_hash]
            if same:
                return _noop(same[0], "same value already current", previous=same)
            if rivals and agent.policy is ConflictPolicy.SUPERSEDE:
                reason = f"new value for {candidate.conflict_key}"
                return self._supersede(candidate, rivals, reason)
            versions = self.services.roles.versions.get(candidate.memory_type)
            if not rivals and agent.policy is ConflictPolicy.SUPERSEDE and versions is not None:
                older = versions.version_of(candidate, await self._rivals(candidate, None))
                if older is not None:
                    return self._new_version(candidate, older)
            if rivals and self._replayed(candidate, rivals[0]):
                return _noop(rivals[0], "already stored from the same turns")
            if rivals:
                reason = f"rewrote {candidate.conflict_key}"
                return self._merged(agent, rivals[0], candidate, reason)
        elif agent.merges_near_duplicates(candidate) and verdict is None:
            near = await self._near_duplicate(candidate)
            if near is not None:
                record, similarity = near
                reason = f"near-duplicate (similarity {similarity:.2f})"
                merged = self._merged(agent, record, candidate, f"{reason} merged")
                unchanged = merged.record.content_hash == record.content_hash
                if unchanged or self._replayed(candidate, record):
                    return _noop(record, reason)
                return merged
        return Decision(operation=Operation.ADD, record=candidate, reason="new memory")

    def _apply(
        self, agent: MemoryAgent, candidate: MemoryBase, verdict: Verdict
    ) -> Decision | None:
        """The LLM's verdict as a decision; None leaves the rules to decide (ADD, or a
        target that an earlier decision of this batch already closed)."""
        target = verdict.target
        if target is not None:
            target = self._pending.latest(target)
            if not target.is_current:
                return None
        reason = f"llm: {verdict.operation.value.lower()}"
        # the verdict of a re-run: the target already holds what these turns said
        if target is not None and verdict.target and self._replayed(candidate, verdict.target):
            return _noop(target, "already stored from the same turns")
        if verdict.operation is Operation.NOOP and target is not None:
            return _noop(target, reason)
        if verdict.operation is Operation.UPDATE and target is not None:
            if target.conflict_key != candidate.conflict_key:
                # not a refinement of the same memory: merged, the target would become
                # another fact (its own lost without history) beside the candidate's rival
                return None
            return self._merged(agent, target, candidate, reason, text=verdict.text)
        if verdict.operation is Operation.SUPERSEDE and target is not None:
            return self._supersede(candidate, [target], reason)
        if verdict.operation is Operation.DELETE and target is not None:
            return self._retraction(target, candidate, f"{reason}: {candidate.content}")
        return None

    def _merged(
        self,
        agent: MemoryAgent,
        target: MemoryBase,
        candidate: MemoryBase,
        reason: str,
        *,
        text: str | None = None,
    ) -> Decision:
        """An UPDATE of `target` merged with `candidate` (its text `text`, when given)."""
        merged = agent.merge(target, candidate, self.now)
        if text and text.strip():
            merged = merged.model_copy(update={"content": text.strip()})
        record = _keyed(merged, agent)
        return Decision(operation=Operation.UPDATE, record=record, previous=[target], reason=reason)

    def _supersede(self, record: MemoryBase, olds: list[MemoryBase], reason: str) -> Decision:
        """`record` added, `olds` closed where it begins."""
        closed = [self._close(old, record) for old in olds]
        return Decision(
            operation=Operation.SUPERSEDE, record=record, previous=closed, reason=reason
        )

    async def _with_rivals(self, decided: Decision, candidate: MemoryBase) -> Decision:
        """An LLM SUPERSEDE that also closes the candidate's current conflict-key rivals: the
        model may name a target of another key ("works at Acme in Paris" for "lives in
        Berlin"), and the old value of the candidate's own key must not stay current."""
        if candidate.conflict_key is None:
            return decided
        closed = {record.id for record in decided.previous}
        rivals = await self._rivals(candidate, ("conflict_key", candidate.conflict_key))
        more = [self._close(r, candidate) for r in rivals if r.id not in closed]
        if not more:
            return decided
        return decided.model_copy(update={"previous": [*decided.previous, *more]})

    async def _retract(self, candidate: MemoryBase) -> list[Decision]:
        """A retraction candidate's DELETEs: every current fact it names is closed; a re-run
        of the same turns finds what its first run closed and changes nothing, and turns
        the rules read before (`_retold`) close nothing: a fact said after the retraction
        in the same call ("I no longer live in Paris." then "I live in Paris.") stays."""
        if retracted := await self._retracted(candidate):
            return [_noop(retracted, "already retracted from the same turns")]
        if self._retold(candidate):
            return []
        return [
            self._retraction(target, candidate, f"retracted: {candidate.content}")
            for target in await self._retraction_targets(candidate)
        ]

    async def _retraction_targets(self, candidate: MemoryBase) -> list[MemoryBase]:
        """The current facts a retraction names: same scope, subject and attribute, the
        value it names (by its first words: "Acme" names "Acme Robotics"), said before it."""
        subject, attribute = (
            getattr(candidate, "subject", None),
            getattr(candidate, "attribute", None),
        )
        if subject is None or attribute is None:
            return []
        rivals = await self._rivals(
            candidate, ("subject", subject), scopes.equals("attribute", attribute)
        )
        said = norm_key(getattr(candidate, "value", "")).split()
        return [
            r
            for r in rivals
            if r.valid_from <= candidate.valid_from
            and norm_key(getattr(r, "value", "")).split()[: len(said)] == said
        ]

    async def _retracted(self, candidate: MemoryBase) -> MemoryBase | None:
        """The memory an earlier run of the same turns closed with this candidate (an LLM
        DELETE stores the closed memory only), so a re-run does not add the candidate."""
        turns = set(candidate.source.turn_ids)
        if not turns:
            return None
        where = self._scope(candidate, {f"internal.{RETRACTED_BY}": candidate.id})
        for record in await self.services.vector.list(candidate.memory_type, where=where):
            record = self._pending.latest(record)
            if turns <= set(record.internal.get(RETRACTED_TURNS) or ()):
                return record
        return None

    async def _rivals(
        self, candidate: MemoryBase, key: tuple[str, str] | None, *more: Filter
    ) -> list[MemoryBase]:
        """The current records of the candidate's type and scope whose field `key[0]` is
        `key[1]` (None: all of them) and that match `more`, as they will be after this
        batch's writes (a pending version stands for its stored one), the candidate itself
        left out. By a conflict key, the closed versions of the fact that may still hold
        when the candidate begins come in the same read and are kept (`_closed`) for
        `validity.in_turn`: those changed since (a version is closed when its successor
        is said: `updated_at` is at least its `valid_to`), none in a conversation sent in
        the order it was said."""
        memory_type = candidate.memory_type
        in_scope = filters.predicate(self._scope(candidate, *_equal(key), *more))
        batch = (
            self._pending.current(memory_type, *key) if key else self._pending.of_type(memory_type)
        )
        pending = {r.id: r for r in batch if in_scope(r)}
        versions = key is not None and key[0] == "conflict_key" and not more
        stored = await self._stored_rivals(candidate, key, *more)
        if versions:
            fact = validity.fact(self.services, candidate)
            self._closed[fact] = [r for r in stored if r.valid_to is not None]
            stored = [r for r in stored if r.is_live(self.now)]
        fresh = [r for r in stored if r.id not in pending and self._still_current(r)]
        return [r for r in [*pending.values(), *fresh] if r.is_current and r.id != candidate.id]

    async def _stored_rivals(
        self, candidate: MemoryBase, key: tuple[str, str] | None, *more: Filter
    ) -> list[MemoryBase]:
        """`_rivals`' read of the store: the live records of the candidate's scope that
        match, or by a conflict key the current ones and the closed ones changed since the
        candidate was said."""
        scope = self._scope(candidate, *_equal(key), *more)
        versions = key is not None and key[0] == "conflict_key" and not more
        if versions:
            since = {"updated_at": {"gt": candidate.valid_from}}
            scope = {"AND": [scope, {"OR": [{"valid_to": {"eq": None}}, since]}]}
        live_at = None if versions else self.now
        memory_type = candidate.memory_type
        return await self._once(
            ("list", memory_type, _asked(scope), live_at),
            lambda: self.services.vector.list(memory_type, where=scope, live_at=live_at),
        )

    def _scope(self, record: MemoryBase, *more: Filter) -> Filter:
        """Records of the same owner: user and agent (and session, for the memories of a
        `session_scoped` agent: working memory)."""
        agent = self.services.agents.get(record.memory_type)
        session = record.session_id if agent is not None and agent.session_scoped else ANY
        return scopes.scope_filter(record.user_id, record.agent_id, session, *more)

    def _close(self, record: MemoryBase, successor: MemoryBase) -> MemoryBase:
        """`record` closed when `successor` begins (with what its agent's `closing` sets)."""
        at = max(successor.valid_from, record.valid_from)
        update: dict[str, object] = {
            "valid_to": at,
            "superseded_by": successor.id,
            "updated_at": successor.created_at,
        }
        if (agent := self.services.agents.get(record.memory_type)) is not None:
            update.update(agent.closing(record, at))
        return record.model_copy(update=update)

    def _retraction(self, target: MemoryBase, candidate: MemoryBase, reason: str) -> Decision:
        """`target` closed as no longer true (not replaced: superseded_by stays None); it
        notes the retracting candidate and turns, so a re-run finds it (`_retracted`)."""
        retraction = {
            RETRACTED_BY: candidate.id,
            RETRACTED_TURNS: list(candidate.source.turn_ids),
        }
        closed = self._close(target, candidate).model_copy(
            update={"superseded_by": None, "internal": {**target.internal, **retraction}}
        )
        return Decision(operation=Operation.DELETE, record=closed, previous=[target], reason=reason)

    def _new_version(self, candidate: MemoryBase, older: MemoryBase) -> Decision:
        """`candidate` supersedes `older` (its agent's `version_of`), under older's conflict
        key, so that later versions find it whichever title they use; nothing when `older`
        already holds what the candidate says (a re-run)."""
        if older.content_hash == candidate.content_hash or self._replayed(candidate, older):
            return _noop(older, "same version already current")
        keyed = candidate.model_copy(update={"conflict_key": older.conflict_key})
        return self._supersede(keyed, [older], f"new version of {older.conflict_key}")

    def _still_current(self, record: MemoryBase) -> bool:
        pending = self._pending.get(record.id)
        return pending is None or pending.is_current

    async def _nearest(self, candidate: MemoryBase) -> list[tuple[MemoryBase, float]]:
        """The stored records of the candidate's scope nearest to its text."""
        where = self._scope(candidate)

        async def read() -> list[tuple[MemoryBase, float]]:
            [embedding] = await embed_for(
                self.services.embedder, [candidate.content], [candidate.user_id]
            )
            return await self.services.vector.query(
                candidate.memory_type,
                embedding,
                where=where,
                live_at=self.now,
                limit=8,  # raw turns, never merge targets, come first for events
            )

        key = ("query", candidate.memory_type, candidate.content, _asked(where))
        return await self._once(key, read)

    async def _near_duplicate(self, candidate: MemoryBase) -> tuple[MemoryBase, float] | None:
        hits = await self._nearest(candidate)
        agent = self.services.agents[candidate.memory_type]
        for record, similarity in hits:
            record = self._pending.latest(record)
            if similarity < self.threshold:
                break
            # a record that never merges (a raw turn) is never merged into either
            mergeable = agent.merges_near_duplicates(record) and record.conflict_key is None
            if record.is_current and mergeable and record.id != candidate.id:
                return record, similarity
        return None


def _equal(key: tuple[str, str] | None) -> list[Filter]:
    return [scopes.equals(*key)] if key else []


def _asked(where: Filter) -> str:
    """A filter as a key of what was read (its values: text, numbers, times, None)."""
    return json.dumps(where, sort_keys=True, default=repr)


def _noop(record: MemoryBase, reason: str, *, previous: list[MemoryBase] | None = None) -> Decision:
    """Nothing to write: `record`, as stored, already says what the candidate says."""
    return Decision(
        operation=Operation.NOOP, record=record, previous=previous or [record], reason=reason
    )


def said_while(candidate: MemoryBase, stored: MemoryBase) -> bool:
    """Whether `candidate` was said while `stored` (closed since) held: from its
    `valid_from` up to its `valid_to`."""
    return (
        stored.valid_to is not None and stored.valid_from <= candidate.valid_from < stored.valid_to
    )


def replayed(candidate: MemoryBase, stored: MemoryBase) -> bool:
    """Whether `stored` already holds what `candidate` says: the same extractor took both
    from the same turns, so a retried or re-run call changes nothing, even where a later
    call has superseded or rewritten the record since."""
    turns = candidate.source.turn_ids
    return (
        bool(turns)
        and candidate.source.extractor == stored.source.extractor
        and set(turns) <= set(stored.source.turn_ids)
    )


def _keyed(record: MemoryBase, agent: MemoryAgent) -> MemoryBase:
    fresh = type(record).model_validate({**record.model_dump(), "content_hash": ""})
    return fresh.model_copy(update={"conflict_key": agent.conflict_key(fresh)})


def _dedupe(candidates: Sequence[MemoryBase], services: Services) -> list[MemoryBase]:
    """Fold candidates with the same id (said twice in one conversation) into one."""
    by_id: dict[str, MemoryBase] = {}
    for candidate in candidates:
        if candidate.id in by_id:
            agent = services.agents[candidate.memory_type]
            by_id[candidate.id] = agent.merge(by_id[candidate.id], candidate, candidate.updated_at)
        else:
            by_id[candidate.id] = candidate
    return list(by_id.values())
