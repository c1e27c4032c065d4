"""Concurrency stress, beyond what the test suite repeats: many rounds of 8-16 callers on
one user, counting violations of "one current truth" instead of stopping at the first.

    python tests/stress_concurrency.py [ROUNDS]   # 4 trials a round; prints the counts
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from octomem import Orchestrator
from octomem.models import Entity
from octomem.orchestrator.internals import services_of

CITIES = (
    "Lisbon Berlin Kyoto Oslo Toronto Nairobi Lima Seoul Porto Vienna Austin Dublin Hanoi "
    "Krakow Denver Tunis"
).split()
LIKES = (
    "tea jazz chess hiking sushi opera tennis poetry salsa kayaking origami baking cycling "
    "pottery skiing karaoke"
).split()


def together(callers: list[Callable[[], Any]]) -> None:
    start = threading.Barrier(len(callers))

    def run(caller: Callable[[], Any]) -> Any:
        start.wait()
        return caller()

    with ThreadPoolExecutor(len(callers)) as pool:
        list(pool.map(run, callers))


def home_violations(orch: Orchestrator, user: str, callers: int) -> list[str]:
    facts = [
        r
        for r in orch.get_all(user_id=user, memory_types=["semantic"])
        if getattr(r, "attribute", "") == "lives_in"
    ]
    if len(facts) != 1:
        return ["current homes"]
    home, found = facts[0].value, []
    edges = orch.run_sync(services_of(orch).graph.relations(user))
    edges = [e for e in edges if e.predicate == "LIVES_IN" and e.invalid_at is None]
    if [e.object_id for e in edges] != [Entity.make_id(user, home)]:
        found.append("valid edges")
    core = [c for c in orch.get_all(user_id=user, memory_types=["core"]) if c.label == "human"]
    if not core or f"Lives in: {home}" not in core[0].content.splitlines():
        found.append("core line")
    turns = orch.get_all(user_id=user, memory_types=["episodic"])
    if sum(getattr(t, "event_type", "") == "message" for t in turns) != callers:
        found.append("raw turns")
    return found


def main(rounds: int) -> None:
    orch = Orchestrator.from_config(data_dir=tempfile.mkdtemp())
    violations: dict[str, int] = {}
    trials = 0

    def count(found: list[str]) -> None:
        nonlocal trials
        trials += 1
        for what in found:
            violations[what] = violations.get(what, 0) + 1

    for r in range(rounds):
        for n in (8, 16):
            user = f"threads{r}-{n}"
            together(
                [
                    lambda c=c, u=user: orch.process(f"I moved to {c}.", user_id=u)
                    for c in CITIES[:n]
                ]
            )
            count(home_violations(orch, user, n))

        async def moves(user: str) -> None:
            await asyncio.gather(
                *[orch.aprocess(f"I moved to {c}.", user_id=user) for c in CITIES[:12]]
            )

        asyncio.run(moves(f"async{r}"))
        count(home_violations(orch, f"async{r}", 12))
        user = f"likes{r}"
        together([lambda w=w, u=user: orch.process(f"I like {w}.", user_id=u) for w in LIKES])
        core = [c for c in orch.get_all(user_id=user, memory_types=["core"]) if c.label == "human"]
        count([] if core and len(core[0].content.splitlines()) == len(LIKES) else ["core lines"])
    orch.close()
    print(f"trials: {trials} (8-16 concurrent callers on one user each)")
    print(f"violations: {sum(violations.values())} {violations}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 25)
