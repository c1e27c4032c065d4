"""mem0's entity and batch routes, as mem0's client (`mem0ai` 2.2.x) calls them: `users()`
(`GET /v1/entities/`), `delete_users()` (`DELETE /v2/entities/{type}/{name}/`),
`batch_update()` and `batch_delete()` (`PUT` / `DELETE /v1/batch/`), each within the
key's reach: a key pinned to a user sees and changes that user only.

A user entity deleted is forgotten (`Orchestrator.forget`: every trace, history
included), as mem0 removes an entity with its memories; an agent's or a run's memories
are deleted in every user's scope they are in (their history kept, as `delete_all`).
A batch is one write (`Orchestrator.update_many`, `delete_many`): every item is checked
first (the memory is the key's, the update is one it may make), so a refused one changes
nothing, and a crash leaves all or none of it; a fact and its knowledge edge both in a
delete go once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import Field

from octomem.orchestrator.engine import Orchestrator
from octomem.scopes import ANY, scope_filter
from octomem.service import context
from octomem.service.deps import Caller, Deleter, Project, Reader, Writer
from octomem.service.mem0_models import Message, refuse
from octomem.service.problems import Problem
from octomem.service.routes_v1 import Body, Id

router = APIRouter(tags=["mem0"])
MAX_BATCH = 1000  # memories one batch names (mem0's platform takes as many)


class Entity(Body):
    id: str
    name: str
    type: Literal["user", "agent"]
    total_memories: int


class Entities(Body):
    count: int
    results: list[Entity]


class BatchItem(Body):
    memory_id: Id
    text: str | None = Field(None, min_length=1)
    metadata: dict[str, Any] | None = None


class Batch(Body):
    memories: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH)


async def users_in_reach(who: Caller, orch: Orchestrator) -> dict[str, int]:
    """The users with memories that this key reaches, and how many current ones each has
    (a key pinned to a user: that user only). A user whose memories are all superseded,
    or all deleted (a delete keeps their history), is there too, with 0: `reset()` forgets
    the users listed, and must reach every trace."""
    pinned = who.user(None)
    if pinned is not None:
        totals = (await orch.astats(user_id=pinned)).totals
        return {pinned: totals.current} if totals.memories or totals.history_events else {}
    return await orch.ausers(include_history=True)  # with each one's current count


async def agents_without_users(orch: Orchestrator) -> dict[str, int]:
    """The agents with memories stored without a user, and how many current ones each has
    (as `users_in_reach` counts a user's: an agent whose memories are all superseded has
    0, and is there for `reset()` to reach them)."""
    stored = scope_filter(None, ANY)
    async with orch.running_call():
        await orch.aopen()
        agents = sorted(a for _, a in await orch.records.scopes(stored) if a)
        current = await orch.records.scopes({"AND": [stored, {"valid_to": None}]})
    return {agent: current[(None, agent)] for agent in agents}


@router.get("/v1/entities/", response_model=Entities, summary="Users with memories (mem0)")
async def entities(who: Reader, orch: Project) -> Entities:
    """The users with memories, then (for a key not pinned to a user) the agents with
    memories stored without a user, each with its number of current memories: mem0's
    `reset()` deletes each entity listed, so it reaches every memory - superseded ones
    too, of an entity with no current one left (listed with 0). An agent or a run within
    a user's memories is a scope of that user, listed by filtering `POST /v3/memories/`."""
    found = [
        Entity(id=user, name=user, type="user", total_memories=count)
        for user, count in (await users_in_reach(who, orch)).items()
    ]
    if who.user(None) is None:
        found += [
            Entity(id=agent, name=agent, type="agent", total_memories=count)
            for agent, count in (await agents_without_users(orch)).items()
        ]
    context.count(records=len(found))
    return Entities(count=len(found), results=found)


@router.delete(
    "/v2/entities/{kind}/{name}/", response_model=Message, summary="Delete an entity (mem0)"
)
async def delete_entity(
    kind: Literal["user", "agent", "run", "app"],
    name: Annotated[str, Path(min_length=1, max_length=256)],
    who: Deleter,
    orch: Project,
) -> Message:
    if kind == "app":
        refuse(app_id=name)
    if kind == "user":
        user = who.user(name)
        assert user is not None
        report = await who.write(orch.aforget(user_id=user))
        context.count(deleted=report.total_memories)
        return Message(message=f"Entity deleted successfully. ({report.total_memories})")
    agent, run = (name, None) if kind == "agent" else (None, name)
    count = await delete_across_users(who, orch, agent_id=agent, run_id=run)
    return Message(message=f"Entity deleted successfully. ({count})")


async def delete_across_users(
    who: Caller, orch: Orchestrator, *, agent_id: str | None, run_id: str | None
) -> int:
    """Delete an agent's or a run's memories in every scope the key reaches: each user's
    and, for a whole-project key, those stored without a user (a run's: of each agent that
    has some)."""
    pinned = who.user(None)
    users: list[str | None] = (
        [pinned] if pinned is not None else [*await orch.ausers(include_superseded=True), None]
    )
    scopes = [(user, agent_id) for user in users if user is not None or agent_id is not None]
    if pinned is None and agent_id is None:  # a run stored with an agent and no user
        where = scope_filter(None, ANY, run_id)
        async with orch.running_call():
            await orch.aopen()
            agents = {agent for _, agent in await orch.records.scopes(where) if agent}
        scopes += [(None, agent) for agent in sorted(agents)]
    count = 0
    for user, agent in scopes:
        count += await who.write(orch.adelete_all(user_id=user, agent_id=agent, session_id=run_id))
    context.count(deleted=count)
    return count


@router.put("/v1/batch/", response_model=Message, summary="Update many memories (mem0)")
async def batch_update(body: Batch, who: Writer, orch: Project) -> Message:
    """Every change checked before any is made, then all made as one write (or none)."""
    changes = [(item.memory_id, item.text, item.metadata) for item in body.memories]
    scope = who.scope(None, required=False)
    await who.write(orch.aupdate_many(changes, **scope))
    context.count(updated=len(body.memories))
    return Message(message=f"Successfully updated {len(body.memories)} memories")


@router.delete("/v1/batch/", response_model=Message, summary="Delete many memories (mem0)")
async def batch_delete(body: Batch, who: Deleter, orch: Project) -> Message:
    """Every id found before any memory goes, then all deleted as one write (or none)."""
    scope = who.scope(None, required=False)
    ids = [item.memory_id for item in body.memories]
    deleted = await who.write(orch.adelete_many(ids, **scope))  # a fact with its edge: once
    context.count(deleted=deleted)
    return Message(message=f"Successfully deleted {deleted} memories")


# mem0's client methods this service does not serve: a clear 501 naming what to use instead
# (a 404 would reach the client's user as MemoryNotFoundError)
_NOT_SERVED = {
    "/v1/exports/": "structured exports; GET /v1/export streams a project's memories as JSONL",
    "/v1/exports/get/": "structured exports; GET /v1/export streams them as JSONL",
    "/v1/summary/": "summaries of memories; recall with a question instead",
    "/v1/feedback/": "feedback on memories",
    "/v2/entities/user/{entity_id}/profile/": "user profiles; the user's core block holds "
    "what is known of them (GET /v1/records?user_id=...&memory_types=core)",
    "/v2/profiles/{rest:path}": "user profiles",
    "/api/v1/{rest:path}": "organisations, projects and webhooks; projects and keys are "
    "managed with `octomem keys`",
}


def _not_served(what: str) -> Any:
    async def answer(who: Reader) -> None:
        raise Problem(501, "not-served", "Not served by octomem", f"octomem does not serve {what}")

    return answer


for _path, _what in _NOT_SERVED.items():
    router.add_api_route(
        _path,
        _not_served(_what),
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
