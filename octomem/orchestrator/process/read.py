"""read_turns: what is known of the user (their stored name) and what the language layer
reads in each turn, once per call; every agent shares it."""

from __future__ import annotations

import asyncio

from octomem.agents.base import read_turns as read_readings
from octomem.models import utcnow
from octomem.orchestrator import projections
from octomem.orchestrator.process.context import context, scope_of
from octomem.orchestrator.process.state import ReadUpdate, TurnsStored
from octomem.orchestrator.services import Services
from octomem.scopes import ANY
from octomem.telemetry import span


async def read_turns(state: TurnsStored, deps: Services) -> ReadUpdate:
    """The user's stored name and the language layer's reading of every turn."""
    scope = scope_of(state)
    with span("node.read_turns", user_id=scope.user_id):
        turns = state["turns"]
        user_name = await projections.user_name(
            deps, scope.user_id, ANY, utcnow(), exclude={turn.id for turn in turns}
        )
        ctx = context(deps, scope, user_name=user_name)
        # parsing is CPU work: off the event loop
        readings = await asyncio.to_thread(read_readings, turns, ctx)
    return {"user_name": user_name, "readings": readings}
