"""One source per fact: views of a source type's records are projections.

A fact the user stated has one canonical record. Agents that play `ViewKeeper` keep views
derived from the records of the type they project, never extracted on their own: one view
per source record (`per_source`: a knowledge edge, `internal["projection_of"]` naming its
fact) or one per (user, agent) scope (the core "human" block).

Every write path that changes source records passes their final states here (`project`)
and writes the returned view changes in the same journaled intent, under the same user
lock; bulk writes (`delete_all`, import, repair) journal the scopes whose views are
rendered again (`refresh`) as the intent's last step. So the views can never drift from
the facts, even across a crash. Projections use no clock of their own (timestamps come
from the facts), so a retried call writes nothing new.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from octomem import offload
from octomem.agents.base import PROJECTION_OF, ViewContext, ViewKeeper
from octomem.at_once import at_once, together
from octomem.models import (
    HistoryEvent,
    MemoryBase,
    MemoryOperation,
    MemoryType,
    Operation,
)
from octomem.orchestrator.events import history_event
from octomem.orchestrator.retrieval import every_record, valid_at
from octomem.scopes import ANY, Owner, among, scope_filter
from octomem.stores.base import Filter

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

__all__ = ["PROJECTION_OF", "Projection", "is_projection"]
Scope = tuple[str | None, str | None]
READS = 4  # reads of one kind in flight at once (`_Views.project`), per kind
ABOUT_USER: Filter = {"subject": "user"}  # the sources a scope view renders: the user's


@dataclass
class Projection:
    """What keeping the views in step writes: records (with history) and deletes."""

    writes: list[tuple[MemoryBase, HistoryEvent]] = field(default_factory=list)
    deletes: list[MemoryBase] = field(default_factory=list)

    def operations(self) -> list[MemoryOperation]:
        """The writes as a process result lists them."""
        deleted: list[tuple[MemoryBase, HistoryEvent | None]] = [(r, None) for r in self.deletes]
        return [
            MemoryOperation(
                operation=event.operation if event else Operation.DELETE,
                memory_type=record.memory_type,
                memory_id=record.id,
                text=record.content,
                previous_id=record.id if event and event.old_value is not None else None,
                previous_text=event.old_value if event else None,
                reason=(
                    f"projection of {record.internal.get(PROJECTION_OF)}"
                    if event
                    else "its fact was deleted"
                ),
                view=True,
            )
            for record, event in [*self.writes, *deleted]
        ]


def is_projection(record: MemoryBase) -> bool:
    return bool(record.internal.get(PROJECTION_OF))


def projected_from(record: MemoryBase) -> str | None:
    """What a view was rendered from: its source record's id, or the source type's name for
    a view of a whole scope (None: not a view)."""
    source = record.internal.get(PROJECTION_OF)
    return source if isinstance(source, str) else None


def _viewers(services: Services) -> list[ViewKeeper]:
    """The enabled agents that keep views of an enabled source type, per-source first."""
    enabled = services.enabled_agents
    viewers = [a for a in services.roles.views if a.memory_type in enabled]
    return sorted([a for a in viewers if a.projects in enabled], key=lambda a: not a.per_source)


def _sources(services: Services) -> list[MemoryType]:
    return list(dict.fromkeys(a.projects for a in _viewers(services)))


def _context(services: Services, now: datetime, user_name: str | None = None) -> ViewContext:
    return ViewContext(
        now=now,
        user_name=user_name,
        char_limit=services.settings.agents.core_char_limit,
    )


def canonical_candidates(services: Services, candidates: Sequence[MemoryBase]) -> list[MemoryBase]:
    """Candidates without second copies of what a view will say (each viewer's
    `canonical`: a knowledge edge that a semantic candidate implies is dropped)."""
    out = list(candidates)
    for agent in _viewers(services):
        out = agent.canonical(out, services.id_key)
    return out


async def project(
    services: Services,
    changed: Iterable[MemoryBase],
    *,
    deleted: Iterable[MemoryBase] = (),
    now: datetime,
    ahead: Ahead | None = None,
) -> Projection:
    """The view changes for source records that are about to be written as `changed`
    (their final states: added, rewritten or closed) or removed (`deleted`); `ahead`:
    what was read for them before they were decided (`Ahead`), not read again."""
    changed, deleted = list(changed), list(deleted)
    if ahead is None or ahead.now != now:  # what it holds is valid at its own time only
        ahead = Ahead(services, now)
    views = _Views(ahead)
    for source in _sources(services):
        await views.project(source, changed, deleted)
    return views.out


async def refresh(
    services: Services, user_id: str | None, agent_id: str | None, *, now: datetime
) -> Projection:
    """Every view of one scope recomputed from its sources, and per-source views whose
    source is gone removed."""
    scope_where = scope_filter(user_id, agent_id)
    views = _Views(Ahead(services, now))
    for source in _sources(services):
        facts = await services.vector.list(source, where=scope_where)
        await views.project(source, facts, [])
        for agent in _viewers(services):
            if agent.projects != source:
                continue
            if agent.per_source:
                known = {r.id for r in facts}
                stored = await services.vector.list(agent.memory_type, where=scope_where)
                views.out.deletes += [
                    v for v in stored if is_projection(v) and v.internal[PROJECTION_OF] not in known
                ]
            elif not any(_about_user(f) for f in facts):  # `project` rendered none
                scope = (user_id, agent_id)
                found = await _stored_scope_views(services, agent, scope)
                views.scope_view(agent, scope, [], found)
    return views.out


def fact_scopes(services: Services, records: Iterable[MemoryBase]) -> list[Scope]:
    """The (user, agent) scopes of the source records (of any view) among `records`."""
    sources = set(_sources(services))
    scopes = {(r.user_id, r.agent_id) for r in records if r.memory_type in sources}
    return sorted(scopes, key=lambda s: tuple((p is not None, p or "") for p in s))


def _about_user(record: MemoryBase) -> bool:
    return getattr(record, "subject", None) == "user"


def _user_scopes(records: Iterable[MemoryBase]) -> list[Scope]:
    """The scopes of the facts about the user among `records`, in their order."""
    return list(dict.fromkeys((r.user_id, r.agent_id) for r in records if _about_user(r)))


def _facts_of(user_id: str | None, agent_id: Owner, *more: Filter) -> Filter:
    """The sources about the user in one (user, agent) scope."""
    return scope_filter(user_id, agent_id, ANY, ABOUT_USER, *more)


async def user_name(
    services: Services,
    user_id: str | None,
    agent_id: Owner,
    now: datetime,
    *,
    exclude: Collection[str] | None = None,
) -> str | None:
    """The user's current name, if a fact of this user and agent states it. With
    `exclude`, facts learned only from those turns are left out (so a re-run of a
    `process` call extracts exactly what its first run did)."""
    where = _facts_of(user_id, agent_id, {"attribute": "name"})
    facts = await every_record(services, where, live_at=now, types=services.roles.names_user)
    if exclude is not None:
        excluded = set(exclude)
        facts = [f for f in facts if not set(f.source.turn_ids) <= excluded]
    return services.roles.user_name(facts)


async def _stored_views(
    services: Services, agent: ViewKeeper, fact_ids: list[str]
) -> dict[str, MemoryBase]:
    """The stored views of these sources, by source id (not by `view_id`: an imported view
    keeps the id it had under its first data directory's key)."""
    found: list[MemoryBase] = []
    for where in among(f"internal.{PROJECTION_OF}", list(dict.fromkeys(fact_ids))):
        found += await services.vector.list(agent.memory_type, where=where)
    return {str(v.internal[PROJECTION_OF]): v for v in found}


async def _stored_scope_views(
    services: Services, agent: ViewKeeper, scope: Scope
) -> list[MemoryBase]:
    """The stored views of one scope by a scope viewer (one, or two after an import)."""
    where = scope_filter(*scope, ANY, agent.view_filter())
    return await services.vector.list(agent.memory_type, where=where)


def _names(
    services: Services, current: dict[Scope, dict[str, MemoryBase]]
) -> dict[Scope, str | None]:
    """The user's name in each scope, as its facts about the user (`current`) say it."""
    return {scope: services.roles.user_name(found.values()) for scope, found in current.items()}


@dataclass
class Ahead:
    """What rendering the views of a batch's facts reads (`_Views.project`), read before
    the batch is decided (`read`, beside the reconciler's own reads: on a server, one
    round trip for both): the facts about the user and the stored scope views of the
    scopes of candidates about the user, and the stored per-source views of the
    candidates. The commit reads only what this does not hold (the views of a fact a
    candidate closes, a scope no candidate was of). Read under the scope's lease, so
    valid until the commit: nothing writes the scope before it."""

    services: Services
    now: datetime
    facts: dict[tuple[MemoryType, Scope], dict[str, MemoryBase]] = field(default_factory=dict)
    scope_views: dict[tuple[MemoryType, Scope], list[MemoryBase]] = field(default_factory=dict)
    # per-source views of the facts read, by viewer type: (the fact ids asked, by fact id)
    views: dict[MemoryType, tuple[frozenset[str], dict[str, MemoryBase]]] = field(
        default_factory=dict
    )

    async def read(self, candidates: Sequence[MemoryBase]) -> None:
        """Read what the views of `candidates` (the batch's new facts) are rendered from."""
        for source in _sources(self.services):
            of = [c for c in candidates if c.memory_type == source]
            if of:
                await self.reads(source, _user_scopes(of), [c.id for c in of])

    async def reads(
        self, source: MemoryType, scopes: list[Scope], ids: list[str]
    ) -> tuple[list[dict[str, MemoryBase]], list[dict[str, MemoryBase]], list[list[MemoryBase]]]:
        """The facts about the user in each of `scopes` (of type `source`), the stored views
        of the facts `ids` by each per-source viewer of `source`, and the stored views of
        each scope by each scope viewer (in `_viewers`' order, then `scopes`'), read side by
        side, those held taken as read, and held for a second call."""
        services, now = self.services, self.now
        viewers = [a for a in _viewers(services) if a.projects == source]
        per_source = [a for a in viewers if a.per_source]
        whole = [(a, s) for a in viewers if not a.per_source for s in scopes]

        async def facts(scope: Scope) -> dict[str, MemoryBase]:
            key = (source, scope)
            if key not in self.facts:
                found = await services.vector.list(source, where=_facts_of(*scope), live_at=now)
                self.facts[key] = {r.id: r for r in found}
            return dict(self.facts[key])  # the caller's to change

        async def views(agent: ViewKeeper) -> dict[str, MemoryBase]:
            asked, held = self.views.get(agent.memory_type, (frozenset(), {}))
            missing = [i for i in dict.fromkeys(ids) if i not in asked]
            found = await _stored_views(services, agent, missing) if missing else {}
            self.views[agent.memory_type] = (asked | set(missing), {**held, **found})
            return {i: v for i in ids if (v := found.get(i, held.get(i))) is not None}

        async def scope_views(agent: ViewKeeper, scope: Scope) -> list[MemoryBase]:
            key = (agent.memory_type, scope)
            if key not in self.scope_views:
                self.scope_views[key] = await _stored_scope_views(services, agent, scope)
            return list(self.scope_views[key])

        # in server mode each read is a round trip, and none depends on another; a delete
        # or update of many users' facts has a scope each: a bounded number in flight,
        # else the queued reads wait out a server's bound in its worker threads
        return await together(
            at_once((facts(s) for s in scopes), limit=READS),
            at_once(views(a) for a in per_source),
            at_once((scope_views(a, s) for a, s in whole), limit=READS),
        )


@dataclass
class _Views:
    """The view changes of source records, gathered in `out` at `ahead`'s time (`ahead`:
    their reads, some maybe made before)."""

    ahead: Ahead
    out: Projection = field(default_factory=Projection)

    @property
    def services(self) -> Services:
        return self.ahead.services

    @property
    def now(self) -> datetime:
        return self.ahead.now

    async def project(
        self, source: MemoryType, changed: list[MemoryBase], deleted: list[MemoryBase]
    ) -> None:
        services = self.services
        facts = {r.id: r for r in changed if r.memory_type == source}
        gone = {r.id: r for r in deleted if r.memory_type == source}
        if not facts and not gone:
            return
        # the scopes whose view and user's name this can change: those of a fact about the
        # user (a subject does not change: a fact and what closes it share their key)
        scopes = _user_scopes([*facts.values(), *gone.values()])
        viewers = [a for a in _viewers(services) if a.projects == source]
        per_source = [a for a in viewers if a.per_source]
        # what the views are rendered from (under the user's lease, before the commit,
        # nothing writes between these reads)
        found, stored, kept = await self.ahead.reads(source, scopes, [*facts, *gone])
        current = dict(zip(scopes, found, strict=True))
        named = _names(services, current)  # before this write
        for record in [*facts.values(), *gone.values()]:
            if _about_user(record):
                by_id = current[(record.user_id, record.agent_id)]
                by_id.pop(record.id, None)
                if record.id in facts and record.is_current:
                    by_id[record.id] = record
        names = _names(services, current)
        # the user's name changed: every view of the scope's facts about the user reads
        # it (a fact's edge: "Dana lives in Paris"), closed facts' too; their stored views
        # are read now, a second step (a name changes rarely)
        more: dict[str, MemoryBase] = {}
        for scope in [s for s in scopes if names[s] != named[s]]:
            for record in await services.vector.list(source, where=_facts_of(*scope)):
                if record.id not in gone and record.id not in facts:
                    more.setdefault(record.id, record)
        if more:
            added = await at_once(_stored_views(services, a, list(more)) for a in per_source)
            stored = [{**views, **new} for views, new in zip(stored, added, strict=True)]
            facts.update(more)
        # rendered in the order of `viewers` (per-source first), then of `scopes`
        stored_of, kept_of = iter(stored), iter(kept)
        sources, removed = list(facts.values()), list(gone.values())
        for agent in viewers:
            if agent.per_source:
                await self.each(agent, sources, removed, names, next(stored_of))
            else:
                for scope in scopes:
                    self.scope_view(agent, scope, list(current[scope].values()), next(kept_of))

    async def each(
        self,
        agent: ViewKeeper,
        facts: list[MemoryBase],
        gone: list[MemoryBase],
        names: dict[Scope, str | None],
        stored: dict[str, MemoryBase],
    ) -> None:
        """Per-source views: one per fact, rendered by `agent`, removed with its fact
        (`stored`: the views stored of `facts` and `gone`, by source id)."""
        services = self.services
        self.out.deletes += [stored[f.id] for f in gone if f.id in stored]

        def view_id(fact: MemoryBase) -> str:
            if fact.id in stored:
                return stored[fact.id].id
            return agent.view_id(fact.user_id, fact.agent_id, fact.id, services.id_key)

        def render() -> list[tuple[MemoryBase, HistoryEvent]]:
            writes = []
            for fact in facts:
                existing = stored.get(fact.id)
                # the name reads in the view of a fact about the user only
                ctx = _context(services, self.now, names.get((fact.user_id, fact.agent_id)))
                view = agent.render_view([fact], view_id(fact), existing, ctx)
                if view is not None:
                    writes.append((view, _event(view, existing)))
            return writes

        # CPU work per fact: off the loop if many
        self.out.writes += await offload.cpu(len(facts), render)

    def scope_view(
        self, agent: ViewKeeper, scope: Scope, facts: list[MemoryBase], found: list[MemoryBase]
    ) -> None:
        """The scope's one view rendered from `facts` (`found`: its stored views). A second
        stored view of the scope (an import of another data directory's export, whose ids
        its own key gave) is removed: it would say what the facts no longer do, beside the
        view kept."""
        services = self.services
        user_id, agent_id = scope
        own_id = agent.view_id(user_id, agent_id, None, services.id_key)
        found = sorted(found, key=lambda r: r.id == own_id)  # this directory's own last: kept
        existing = found[-1] if found else None
        self.out.deletes += found[:-1]
        view_id = existing.id if existing else own_id
        view = agent.render_view(facts, view_id, existing, _context(services, self.now))
        if view is not None:
            self.out.writes.append((view, _event(view, existing)))


def _event(record: MemoryBase, existing: MemoryBase | None) -> HistoryEvent:
    """A view's event: ADD, UPDATE, or SUPERSEDE when it closes with its fact (as the
    fact's own event says)."""
    if existing is None:
        return history_event(record, Operation.ADD, actor=record.source.extractor)
    closed = existing.is_current and not record.is_current
    operation = Operation.SUPERSEDE if closed else Operation.UPDATE
    return history_event(record, operation, old=existing, actor=record.source.extractor)


async def scope_views_at(
    services: Services, user_id: str | None, agent_id: str | None, at: datetime
) -> list[MemoryBase]:
    """The scope views as they read at `at`, rendered from the sources valid then (a stored
    view is only ever the current one)."""
    views: list[MemoryBase] = []
    for agent in _viewers(services):
        if agent.per_source:
            continue
        where = _facts_of(user_id, agent_id)
        facts = [
            f for f in await services.vector.list(agent.projects, where=where) if valid_at(f, at)
        ]
        view_id = agent.view_id(user_id, agent_id, None, services.id_key)
        if facts and (view := agent.view_at(facts, view_id, at, _context(services, at))):
            views.append(view)
    return views
