"""Run one octomem call in this process and SIGKILL it at a chosen point (crash tests).

    python tests/crash_child.py '{"data_dir": ..., "call": "process" | "delete_all" | "forget"
        | "import" | "ingest", "messages": [...], "user_id": ..., "session_id": ...,
        "source": <export>, "path": <folder to ingest>,
        "store": "vector" | "keyword" | "history" | "graph" | "journal" | "batch" | null,
        "method": "upsert", "nth": 2, "when": "before" | "after" | "during" | "stop",
        "what": null, "settings": {...}}'

With a store, the process kills itself at the `nth` call of that store method: before
it, after it returned, or from a timer thread while it runs ("during"); with "stop" it
says "stopped" and stops itself (SIGSTOP) before the call, which runs once the test sends
SIGCONT. With "what", only calls whose first argument equals it are counted (the
vector store's `_on("upsert", ...)`: its request to Chroma, after the fence check).
With "store": "batch" and "when": "commit", it stops inside the `nth` fenced transaction
of a writer's gathered graph writes that hold the write "what" (e.g. "upsert_relations"),
once their one statement has run, before the transaction commits (`neo4j_batch.run`).
Without a store, the call runs to the end (the test kills it from outside at some
moment). Exit 0 means the call finished without reaching the kill point; a call that
fails prints "error <type>: <message>" and exits 3. `settings` are further settings
overrides (server stores, lease times).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any

from octomem import Orchestrator
from octomem.errors import OctomemError
from octomem.orchestrator.internals import services_of


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _stop() -> None:
    """Say "stopped" and stop (SIGSTOP) before this thread runs on. Sent to the process, a
    stop signal may be taken by another of its threads while this one runs on until the
    kernel stops it too - under load, long enough to send a request; sent to this
    thread, it stops here."""
    print("stopped", flush=True)
    signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)


def _arm_batch(spec: dict[str, Any]) -> None:
    from octomem.stores import neo4j_batch

    real = neo4j_batch.run
    seen = 0

    async def run(tx: Any, works: Any, tokens: Any) -> bool:
        nonlocal seen
        armed = spec["what"] in {op for op, _ in works}
        seen += armed
        armed = armed and seen == spec["nth"]
        done = await real(tx, works, tokens)
        if armed and spec["when"] == "commit":
            _stop()  # its statement run, the transaction not yet committed
        return done

    neo4j_batch.run = run


def _arm(orch: Orchestrator, spec: dict[str, Any]) -> None:
    if spec["store"] == "batch":
        _arm_batch(spec)
        return
    target = getattr(services_of(orch), spec["store"])
    real = getattr(target, spec["method"])
    calls = 0
    if (
        spec["store"] == "vector"
        and spec["when"] == "stop"
        and spec["nth"] == 1
        and not spec.get("what")
    ):
        _arm_drain(spec)

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if spec.get("what") not in (None, *args[:1]):
            return await real(*args, **kwargs)
        calls += 1
        if calls != spec["nth"]:
            return await real(*args, **kwargs)
        if spec["when"] == "before":
            _die()
        if spec["when"] == "stop":
            spec["when"] = "stopped"  # once
            _stop()
        if spec["when"] == "during":
            threading.Timer(0.003, _die).start()
        result = await real(*args, **kwargs)
        if spec["when"] == "after":
            _die()
        return result

    setattr(target, spec["method"], wrapped)


def _arm_drain(spec: dict[str, Any]) -> None:
    """A server's vector writes of several types go out together after one fence check
    (`gather.drain`, the flush of the gathered graph writes): a "stop" at the first vector
    write stops before that check, as it does before a lone write's."""
    from octomem.stores import gather

    real = gather.drain

    async def drain(fence: Any) -> None:
        found = gather.current(fence)
        if found is not None and found.works and spec["when"] == "stop":
            spec["when"] = "stopped"  # once
            _stop()
        await real(fence)

    gather.drain = drain  # type: ignore[assignment]


def main() -> None:
    spec = json.loads(sys.argv[1])
    orch = Orchestrator.from_config(data_dir=spec["data_dir"], **spec.get("settings", {}))
    orch.get_all(user_id=spec["user_id"])  # open the stores before arming
    if spec.get("store"):
        _arm(orch, spec)
    print("ready", flush=True)
    try:
        _call(orch, spec)
    except OctomemError as exc:
        print(f"error {type(exc).__name__}: {exc}", flush=True)
        os._exit(3)
    print("finished", flush=True)
    os._exit(0)  # no clean close: only the kill point decides what was written


def _call(orch: Orchestrator, spec: dict[str, Any]) -> None:
    if spec["call"] == "process":
        orch.process(spec["messages"], user_id=spec["user_id"], session_id=spec["session_id"])
    elif spec["call"] == "forget":
        orch.forget(user_id=spec["user_id"])
    elif spec["call"] == "import":
        orch.import_jsonl(spec["source"])
    elif spec["call"] == "ingest":
        orch.ingest(spec["path"], user_id=spec["user_id"])
    else:
        orch.delete_all(user_id=spec["user_id"])


if __name__ == "__main__":
    main()
