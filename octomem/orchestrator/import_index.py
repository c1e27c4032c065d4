"""An import's one pass over its file, before anything is written: every line checked on
its own (`import_checks`), then against what the stores hold and what earlier lines
claimed, a batch of lines at a time; what it will write goes to the spool
(`import_spool`), and memory keeps a few ids a line, never the text.

Against the stores and the file, a line is rejected when an id in it belongs to another
scope (stored, logged, or claimed earlier in the file); its memory id or a history event
id is given by an earlier line too; one of its history events is logged already with
other content; the memory is stored with a history the line does not continue (both
changed it since they parted), or with the same history and another text or validity;
a relation links entities neither in the file nor stored for its user; a relation is not
the edge its knowledge record implies (`doctor` compares them: ends, predicate, fact,
validity), the record being its memory line's in the file or else the stored one, or it is
a current edge of no knowledge record there.

A memory the stores hold as the line has it, or a later state of, is left as it is (its
edge too) and counted `unchanged`; a line whose history continues the stored one writes
its new events and its record (or deletes it, when its last new event deleted it).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from octomem.agents.registry import EDGE_KEYS
from octomem.models import (
    Change,
    Entity,
    HistoryEvent,
    MemoryBase,
    Operation,
    Relation,
)
from octomem.orchestrator import originals, projections
from octomem.orchestrator.events import history_event
from octomem.orchestrator.import_checks import (
    Checked,
    MemoryLine,
    Rejected,
    RejectedLine,
    TransferSummary,
    check_line,
    same_event,
    same_state,
    scopes_of,
)
from octomem.orchestrator.import_spool import (
    BLOB,
    DELETE,
    ENTITY,
    EVENT,
    RELATION,
    WRITE,
    Moved,
    Spool,
    UserPlan,
    row,
)
from octomem.orchestrator.locks import Erasures
from octomem.orchestrator.retrieval import by_ids
from octomem.orchestrator.services import Services
from octomem.scopes import IN_CHUNK

BATCH_LINES = 128  # lines checked together (their store reads made in one go) ...
BATCH_CHARS = 16 << 20  # ... or fewer, once they hold this many characters
MAX_REPORTED = 1_000  # rejected lines listed in full; the count is always exact
_MISSING = "\x00missing"  # never a user_id: scope ids cannot hold control characters
_ENDS = ("subject_id", "object_id")  # of an edge: known where stored once the file is read
_CORE = {"id", *EDGE_KEYS} - set(_ENDS)  # the rest of what an edge is compared on
_ANY = b""  # a record that implies no edge: doctor compares none with it

Scope = tuple[str | None, str | None]
Lines = Iterator[tuple[int, dict[str, Any], int]]  # (number, line masked, its size)


class _Line(NamedTuple):
    number: int
    kind: str
    id: Any
    scopes: set[Scope]
    checked: Checked | Rejected | tuple[str | None, str, str]  # a blob: user, sha, base64


class _Row(NamedTuple):  # what a line writes
    user: str | None
    stream: str  # a `UserPlan` stream, or "blobs"
    row: bytes
    relation: tuple[int, Relation] | None = None  # a relation line: its number, itself


class _Relation(NamedTuple):  # a relation line, decided once the file's entities are known
    number: int
    offset: int
    size: int
    id: str
    user_id: str | None
    ends: tuple[str, str]  # its subject and object as the file names them
    memory_id: str | None
    core: bytes  # a digest of what it is compared on with its record's edge, ends aside
    current: bool


@dataclass
class Index:
    """What an import writes, where it lies in the spool, and the lines it left out."""

    users: dict[str | None, UserPlan] = field(default_factory=lambda: defaultdict(UserPlan))
    seen: dict[Scope, Erasures] = field(default_factory=dict)  # erasures when first named
    moved: Moved = field(default_factory=dict)
    summary: TransferSummary = field(default_factory=TransferSummary)  # the counts

    def reject(self, number: int, kind: str, item_id: Any, reason: str) -> None:
        self.summary.rejected_count += 1
        if len(self.summary.rejected) < MAX_REPORTED:
            shown = item_id if isinstance(item_id, str) else None
            line = RejectedLine(line=number, kind=kind, id=shown, reason=reason)
            self.summary.rejected.append(line)


async def check_lines(services: Services, lines: Lines, spool: Spool, *, text_limit: int) -> Index:
    """Read, check and spool every line of an export (header first); the index of what
    an import writes. Reads the stores, writes nothing to them."""
    reading = _Reading(services, spool, text_limit)
    while batch := await spool.run(reading.next_batch, lines):
        await reading.add(batch)
    await reading.relations()
    return reading.index


class _Reading:
    def __init__(self, services: Services, spool: Spool, text_limit: int) -> None:
        self.services, self.spool, self.text_limit = services, spool, text_limit
        self.index = Index()
        # memory id -> (user, agent) it belongs to, and whether a line of it was accepted
        self.claims: dict[str, tuple[str | None, str | None, bool]] = {}
        self.event_ids: set[str] = set()  # of the memory lines accepted
        self.unchanged: set[str] = set()  # memories left as stored (and their edges)
        self.entity_claims: dict[str, str | None] = {}  # entity id in the file -> user
        self.own: dict[str, str | None] = {}  # entity id stored -> user
        self.blobs: set[tuple[str | None, str]] = set()
        self.pending: list[_Relation] = []
        # knowledge memory id -> the edge its accepted line's record implies (`_implied`)
        self.edges: dict[str, bytes | None] = {}
        self.names: dict[str, str] = {}  # one copy of each scope id

    def next_batch(self, lines: Lines) -> list[_Line]:
        batch: list[_Line] = []
        chars = 0
        types, media = self.services.types, self.services.settings.media
        for number, line, size in lines:
            kind = str(line.get("type"))
            if kind == "blob":  # checked whole: a bad one fails the import
                checked: Any = originals.parse_blob_line(line, media)[:2] + (line["data"],)
                batch.append(_Line(number, kind, None, set(), checked))
            else:
                try:
                    checked = check_line(number, line, self.text_limit, types)
                except Rejected as exc:
                    checked = exc
                batch.append(_Line(number, kind, line.get("id"), scopes_of(line), checked))
            chars += size
            if len(batch) >= BATCH_LINES or chars >= BATCH_CHARS:
                break
        return batch

    async def add(self, batch: list[_Line]) -> None:
        index, services = self.index, self.services
        for line in batch:
            for scope in line.scopes - index.seen.keys():
                index.seen[scope] = await services.locks.erasures(*scope)
        memories = [x.checked for x in batch if isinstance(x.checked, MemoryLine)]
        stored = await by_ids(services, ((m.memory_type, m.memory_id) for m in memories))
        logged = {m.memory_id: await services.history.for_memory(m.memory_id) for m in memories}
        known = await services.history.find([e.id for m in memories for e in m.events])
        entities = [x.checked for x in batch if isinstance(x.checked, Entity)]
        unseen = [e.id for e in entities if e.id not in self.entity_claims]
        entity_owners = await services.graph.entity_owners(unseen) if unseen else {}
        rows: list[_Row] = []  # what the batch's lines write, in order
        for line in batch:
            item = line.checked
            if isinstance(item, Rejected):
                index.reject(line.number, line.kind, line.id, str(item))
            elif isinstance(item, MemoryLine):
                found = stored.get(item.memory_id)
                reason = self._memory(item, found, logged[item.memory_id], known, rows)
                if reason is not None:
                    index.reject(item.number, "memory", item.memory_id, reason)
                elif item.memory_type in services.roles.graph:
                    self.edges[item.memory_id] = self._implied(item.record)
            elif isinstance(item, Entity):
                if not self._entity(item, entity_owners, rows):
                    index.reject(line.number, "entity", item.id, "the id belongs to another user")
            elif isinstance(item, Relation):
                spooled = row(RELATION, item)
                rows.append(_Row(item.user_id, "relations", spooled, (line.number, item)))
            elif isinstance(item, tuple) and (item[0], item[1]) not in self.blobs:
                self.blobs.add((item[0], item[1]))
                rows.append(_Row(item[0], "blobs", row(BLOB, list(item))))
        placed = await self.spool.run(self.spool.append, [r.row for r in rows])
        for (user, stream, _, edge), (offset, size) in zip(rows, placed, strict=True):
            plan = index.users[user]
            if stream == "blobs":
                plan.blobs.append(offset)
            elif edge is not None:
                number, relation = edge
                ends = (relation.subject_id, relation.object_id)
                owner = self._name(user)
                claim = _Relation(
                    number,
                    offset,
                    size,
                    relation.id,
                    owner,
                    ends,
                    relation.memory_id,
                    _core(relation),
                    relation.invalid_at is None,
                )
                self.pending.append(claim)
            else:
                getattr(plan, stream).add(offset, size)

    def _name(self, value: str | None) -> str | None:
        return None if value is None else self.names.setdefault(value, value)

    def _memory(
        self,
        item: MemoryLine,
        stored: MemoryBase | None,
        logged: list[HistoryEvent],
        known: dict[str, HistoryEvent],
        rows: list[_Row],
    ) -> str | None:
        """Why the line is rejected; None once what it writes is in `rows`."""
        index, types, limit = self.index, self.services.types, self.text_limit
        if item.memory_id in self.claims:
            user, agent, given = self.claims[item.memory_id]
        elif stored is not None:
            user, agent, given = stored.user_id, stored.agent_id, False
        elif logged:
            user, agent, given = logged[-1].user_id, item.agent_id, False
        else:
            user, agent, given = item.user_id, item.agent_id, False
        user, agent = self._name(user), self._name(agent)
        self.claims[item.memory_id] = (user, agent, True)
        history_only = item.record is None and user == item.user_id
        if (user, agent) != (item.user_id, item.agent_id) and not history_only:
            self.claims[item.memory_id] = (user, agent, given)
            return "the id belongs to another user or agent"
        if given:
            return "the id is given by an earlier line too"
        ids = [event.id for event in item.events]
        for at, event in enumerate(item.events):
            if event.id in self.event_ids or event.id in ids[:at]:
                return f"history event {event.id!r} is given by an earlier line too"
            was = known.get(event.id)
            if was is not None and not same_event(was, event, limit, types):
                return f"history event {event.id!r} is logged already with other content"
        new = [event for event in item.events if event.id not in known]
        given_ids = set(ids)
        ahead = [event for event in logged if event.id not in given_ids]
        if ahead and new:
            return (
                "the memory is stored with a history this line does not continue (both "
                "changed it since they parted)"
            )
        record = item.record
        if (
            not (ahead or new)
            and record
            and stored
            and not same_state(stored, record, limit, types)
        ):
            return "the memory is stored with another text or validity, the same history"
        self.event_ids.update(ids)
        if ahead or not new and (logged or stored is not None):
            self.unchanged.add(item.memory_id)
            index.summary.unchanged += 1
            return None
        self._write(item, new, stored, rows)
        return None

    def _write(
        self,
        item: MemoryLine,
        new: list[HistoryEvent],
        stored: MemoryBase | None,
        rows: list[_Row],
    ) -> None:
        summary, plan, user = self.index.summary, self.index.users[item.user_id], item.user_id
        rows += [_Row(user, "events", row(EVENT, event)) for event in new]
        summary.history_events += len(new)
        plan.scopes.add((user, None))
        plan.scopes |= {(user, (e.record or {}).get("agent_id")) for e in item.events}
        last = item.events[-1] if item.events else None
        record = item.record
        if record is None:
            summary.deleted_memories += 1
            if stored is not None and last is not None and last.operation is Operation.DELETE:
                rows.append(_Row(user, "changes", row(DELETE, Change(record=stored, event=last))))
                plan.views.update(projections.fact_scopes(self.services, [stored]))
            return
        event = last or history_event(record, Operation.ADD, actor="import")
        rows.append(_Row(user, "changes", row(WRITE, Change(record=record, event=event))))
        summary.memories += 1
        kind = record.memory_type.value
        summary.by_type[kind] = summary.by_type.get(kind, 0) + 1
        plan.scopes.add((user, record.agent_id))
        plan.wanted |= originals.kept(record)
        plan.views.update(projections.fact_scopes(self.services, [record]))

    def _entity(
        self,
        entity: Entity,
        stored: dict[str, str | None],
        rows: list[_Row],
    ) -> bool:
        owner = self.entity_claims.setdefault(entity.id, stored.get(entity.id, entity.user_id))
        if owner != entity.user_id:
            return False
        # stored under the id its own user and (masked) name give: a file cannot plant a
        # node under the id another user's entity will get (their forgets would reach each
        # other's edges)
        own = Entity.make_id(entity.user_id, entity.name)
        if own != entity.id:
            self.index.moved[(entity.user_id, entity.id)] = own
            entity = entity.model_copy(update={"id": own})
        self.own[own] = self._name(entity.user_id)
        rows.append(_Row(entity.user_id, "entities", row(ENTITY, entity)))
        self.index.summary.entities += 1
        return True

    async def relations(self) -> None:
        """Decide the relation lines, in file order, once every entity and memory is known."""
        if not self.pending:
            return
        graph, index = self.services.graph, self.index
        ends = {
            end
            for item in self.pending
            for end in self._ends(item)
            if end not in self.own and end not in self.entity_claims
        }
        stored = await graph.entity_owners(sorted(ends)) if ends else {}
        owners = {r.id: r.user_id for r in await graph.all_relations()}
        for start in range(0, len(self.pending), IN_CHUNK):
            chunk = self.pending[start : start + IN_CHUNK]
            implied = await self._stored_edges(chunk)
            for item in chunk:
                found = [self._owner(end, stored) for end in self._ends(item)]
                if owners.setdefault(item.id, item.user_id) != item.user_id:
                    reason = "the id belongs to another user"
                elif _MISSING in found:
                    reason = "it links an entity that is missing"
                elif any(owner != item.user_id for owner in found):
                    reason = "it links an entity of another user"
                elif (disagrees := self._disagreement(item, implied)) is not None:
                    reason = disagrees
                else:
                    if item.memory_id not in self.unchanged:  # such an edge stays as stored
                        index.users[item.user_id].relations.add(item.offset, item.size)
                        index.summary.relations += 1
                    continue
                index.reject(item.number, "relation", item.id, reason)
        self.pending = []

    def _implied(self, record: MemoryBase | None) -> bytes | None:
        """The digest of the edge a knowledge record implies; None: no record."""
        if record is None:
            return None
        edge = self.services.roles.edge(record)
        return _ANY if edge is None else _whole(_core(edge), (edge.subject_id, edge.object_id))

    async def _stored_edges(self, chunk: list[_Relation]) -> dict[str, bytes | None]:
        """The edges the stored records imply of the relations' knowledge memories that no
        accepted line of the file gives (`edges`)."""
        types, graph = self.services.types, self.services.roles.graph
        wanted = [(types.type_of(i), i) for i in (item.memory_id or item.id for item in chunk)]
        found = await by_ids(
            self.services, [(t, i) for t, i in wanted if i not in self.edges and t in graph]
        )
        return {memory_id: self._implied(record) for memory_id, record in found.items()}

    def _disagreement(self, item: _Relation, implied: dict[str, bytes | None]) -> str | None:
        """Why `doctor` would flag the edge beside its memory's record, if it would: the
        record in the file (`edges`) or else the stored one (`implied`)."""
        memory_id = item.memory_id or item.id
        expected = self.edges[memory_id] if memory_id in self.edges else implied.get(memory_id)
        if expected is None:  # no knowledge record by that id: only a closed edge is kept
            return "it is a current edge of no knowledge record" if item.current else None
        if expected in (_ANY, _whole(item.core, tuple(self._ends(item)))):
            return None
        return "its ends, predicate, fact or validity are not those its knowledge record implies"

    def _ends(self, item: _Relation) -> list[str]:
        """Its ends where the import stores them (`Index.moved`)."""
        return [self.index.moved.get((item.user_id, end), end) for end in item.ends]

    def _owner(self, entity_id: str, stored: dict[str, str | None]) -> str | None:
        for known in (self.own, self.entity_claims, stored):
            if entity_id in known:
                return known[entity_id]
        return _MISSING


def _core(edge: Relation) -> bytes:
    """A digest of what an edge is compared on with the one its record implies (what
    `doctor` compares, and its id), its ends aside: where they are stored is known once
    the file's entities are."""
    return hashlib.blake2b(edge.model_dump_json(include=_CORE).encode(), digest_size=16).digest()


def _whole(core: bytes, ends: tuple[str, ...]) -> bytes:
    """`core` with the ends where they are stored."""
    return hashlib.blake2b(core + "\x00".join(ends).encode(), digest_size=16).digest()
