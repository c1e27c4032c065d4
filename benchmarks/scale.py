"""`python -m benchmarks scale`: embedded against server mode, and one against two app processes,
in one run, with the per-operation costs a deployment is sized from (issue 23).

It starts a Chroma server (`chroma run`) and an ArcadeDB Bolt server on 127.0.0.1 (free
ports, data in a temp dir; stopped by pid at the end, on error and Ctrl-C too), then:

1. modes: on embedded stores, then in server mode (one deployment on those servers), the
   same `size` synthetic messages of one user (`perf`'s ingest: `process(...,
   infer=False)`, 20 a call), `adds` single `process()` calls with offline extraction
   (what the load's adds are) and `queries` `recall(limit=10)` calls; ratios are server
   over embedded (a rate below 1, a time above 1: server mode is slower).
2. load: `octomem serve --workers 1`, then `--workers 2`, in server mode on part 1's data
   (and `seed` more memories over `serve`'s 10 users), each under `serve`'s
   load: 80% search / 20% add from `clients` clients, at most `duration` s and
   `max_requests` requests; ratios are two processes over one.
3. costs: in part 1's server mode, per recall, per add and per ingested memory, what this
   process sent the servers (HTTP requests to Chroma, Bolt round trips - the driver's
   flushes, each answered before the next - and graph transactions, with the time spent
   in each, summed), its own CPU and each server's CPU; in part 2, the CPU of the app
   processes and of each server per request; disk per 1k memories stored (Chroma's data
   directory, ArcadeDB's database directory, the app host's data directory in server
   mode, the embedded data directory), and each server's resident memory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import yaml

from benchmarks.perf import USER, ingest, latencies, percentile
from benchmarks.serve import (
    USERS,
    HttpTarget,
    Load,
    cpu_s,
    rss_mb,
    run_load,
    seed_memories,
    started_server,
)
from benchmarks.servers import BoltServer, ChromaServer, arcadedb_server, chroma_server
from benchmarks.synthetic import memories, questions
from octomem.embeddings import CachedEmbedder
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings
from octomem.stores.neo4j_client import Neo4jClient

DEPLOYMENT = "bench"


def ratio(over: float | None, under: float | None) -> float | None:
    """`over / under` to 2 decimals; None when either is missing or `under` is 0."""
    if over is None or not under:
        return None
    return round(over / under, 2)


def per_op(before: dict[str, float], after: dict[str, float], ops: int) -> dict[str, float]:
    """What each of `ops` operations cost: the growth of every counter, divided."""
    return {k: round((after[k] - before.get(k, 0.0)) / max(ops, 1), 3) for k in after}


def dir_bytes(path: Path | None) -> int:
    """The size of the files under `path`."""
    if path is None or not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def chroma_kind(method: str, path: str) -> str:
    """What a Chroma API request does, from its method and path: "POST query" for
    .../collections/<id>/query, "GET collection" for .../collections/<name>."""
    parts = path.rstrip("/").split("/")
    if "collections" not in parts:
        return f"{method} {parts[-1]}"
    rest = parts[parts.index("collections") + 1 :]
    return f"{method} {rest[1] if len(rest) > 1 else 'collection' if rest else 'collections'}"


class Meter:
    """Counters of this process and the servers, read before and after a phase: CPU (this
    process's and each server's, ms) and, while `counting`, what this process sent the
    servers: Chroma requests and graph transactions (each also by kind, "chroma_requests:
    POST query", "graph_transactions: search", with the ms spent in them) and Bolt round
    trips."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.sent: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _add(self, key: str, kind: str | None = None, started: float | None = None) -> None:
        with self._lock:
            self.sent[key] += 1
            if kind is not None:
                self.sent[f"{key}: {kind}"] += 1
            if started is not None:
                self.sent[f"{key}_ms"] += round(1000 * (time.perf_counter() - started))

    def read(self) -> dict[str, float]:
        out = {"app_cpu_ms": 1000 * time.process_time()}
        for name, pid in self.pids.items():
            out[f"{name}_cpu_ms"] = 1000 * ((cpu_s(pid) if pid else None) or 0.0)
        with self._lock:
            out.update(self.sent)
        return out

    @contextmanager
    def counting(self, chroma_port: int) -> Iterator[None]:
        """Count what this process sends the Chroma server on `chroma_port` (its HTTP
        requests) and the graph server (transactions, Bolt flushes) while the block runs."""
        send, call = httpx.Client.send, Neo4jClient.call
        meter = self

        def counted_send(self: httpx.Client, request: httpx.Request, **kw: Any) -> Any:
            if request.url.port != chroma_port:
                return send(self, request, **kw)
            started = time.perf_counter()
            try:
                return send(self, request, **kw)
            finally:
                kind = chroma_kind(request.method, request.url.path)
                meter._add("chroma_requests", kind, started)

        async def counted_call(self: Neo4jClient, op: str, *args: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await call(self, op, *args, **kw)
            finally:
                meter._add("graph_transactions", op, started)

        with ExitStack() as patches:
            patches.enter_context(mock.patch.object(httpx.Client, "send", counted_send))
            patches.enter_context(mock.patch.object(Neo4jClient, "call", counted_call))
            try:  # the driver's own class: no Bolt round trips counted if it has moved
                from neo4j._async.io._bolt._base import AsyncBolt
            except ImportError:
                yield
                return
            flush = AsyncBolt.send_all

            async def counted_flush(self: Any) -> None:
                meter._add("bolt_round_trips")  # a flush, then the answers: one round trip
                await flush(self)

            patches.enter_context(mock.patch.object(AsyncBolt, "send_all", counted_flush))
            yield


def run_mode(
    mode: str,
    orch: Orchestrator,
    meter: Meter,
    *,
    size: int,
    adds: int,
    queries: int,
    variant: int = 0,
) -> tuple[dict[str, float], dict[str, dict[str, float]], int]:
    """(the mode's numbers, its costs per operation, memories stored). `variant`: texts of
    its own (0: part 1's), so a later run on the same data stores and asks anew."""
    out: dict[str, float] = {}
    costs: dict[str, dict[str, float]] = {}
    before = meter.read()
    texts = memories(size, seed=7 + 1000 * variant)
    if variant:
        texts = [f"{t} (run {variant})" for t in texts]
    out["ingest_per_s"] = round(ingest(orch, texts, infer=False, desc=f"{mode} ingest"), 1)
    costs["ingest_per_memory"] = per_op(before, meter.read(), size)
    said = memories(adds, seed=99 + 1000 * variant)
    singles = [
        f"{t} (single add {i}{f', run {variant}' if variant else ''})" for i, t in enumerate(said)
    ]
    before = meter.read()
    times = latencies(lambda t: orch.process(t, user_id=USER, session_id="single"), singles, "add")
    costs["add"] = per_op(before, meter.read(), adds)
    out["add_p50_ms"], out["add_p95_ms"] = percentile(times, 50), percentile(times, 95)
    asked = questions(queries, seed=11 + 1000 * variant)
    orch.recall(asked[0] + " warm-up", user_id=USER)
    before = meter.read()
    times = latencies(lambda q: orch.recall(q, user_id=USER, limit=10), asked, f"{mode} recall")
    costs["recall"] = per_op(before, meter.read(), queries)
    out["recall_p50_ms"], out["recall_p95_ms"] = percentile(times, 50), percentile(times, 95)
    stored = orch.stats(user_id=USER).totals.memories
    return {k: round(v, 2) for k, v in out.items()}, costs, stored


def server_settings(
    root: Path, chroma: ChromaServer, bolt: BoltServer
) -> tuple[Path, dict[str, str], dict[str, Any]]:
    """(a config file for the app processes, their environment, the in-process overrides):
    one deployment on the two servers; the graph password in the environment only."""
    host, port = chroma.host_port
    graph = {"provider": "neo4j", "uri": bolt.uri, "user": bolt.user, "database": bolt.database}
    config = {
        "deployment": DEPLOYMENT,
        "id_key": secrets.token_hex(24),
        "vector": {"provider": "chroma", "mode": "http", "host": host, "port": port},
        "graph": graph,
    }
    path = root / "server.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return (
        path,
        {"OCTOMEM_GRAPH__PASSWORD": bolt.password},
        {**config, "graph": {**graph, "password": bolt.password}},
    )


def audit_counts(data_dir: Path) -> Counter[str]:
    """Lines per audit file (one file per worker process): requests each one answered."""
    return Counter(
        {p.name: len(p.read_bytes().splitlines()) for p in data_dir.glob("service/audit*.log")}
    )


def run_app_load(
    workers: int,
    data_dir: Path,
    config: Path,
    env: dict[str, str],
    servers: dict[str, int],
    *,
    clients: int,
    duration_s: float,
    max_requests: int,
    seed: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """`octomem serve --workers N` under the load: its row."""
    with started_server(data_dir, config=config, workers=workers, env=env) as (url, key, pid):
        http = HttpTarget(url, key, clients, keepalive=False)
        warm = questions(10 * clients, seed=23)
        started = audit_counts(data_dir)

        async def go() -> tuple[Load, Counter[str]]:
            try:
                if seed:
                    log(f"seeding {seed} memories over the load's users")
                    await seed_memories(http, seed)
                # every process opens its stores before the clock runs (10 rounds at most)
                for at in range(0, len(warm), clients):
                    users = [f"bench-u{c % USERS}" for c in range(clients)]
                    await asyncio.gather(
                        *(http.search(u, warm[at + c]) for c, u in enumerate(users))
                    )
                    if at and len(audit_counts(data_dir) - started) >= workers:
                        break
                log(f"{workers} app process(es): up to {duration_s:g} s or {max_requests} requests")
                before = audit_counts(data_dir)
                load = await run_load(
                    http,
                    f"{workers} app",
                    clients,
                    duration_s=duration_s,
                    max_requests=max_requests,
                    queries=questions(500),
                    pid=pid,
                    children=True,
                    watch={**servers, "load_generator": os.getpid()},
                )
                return load, audit_counts(data_dir) - before
            finally:
                await http.close()

        load, split = asyncio.run(go())
    row: dict[str, Any] = {"app_processes": workers, **load.row()}
    row["app_cpu_ms_per_request"] = row.pop("cpu_ms_per_request")
    del row["clients"], row["side"]
    # what each process answered: the load's requests and the read-back of its writes
    row["requests_per_process"] = sorted(split.values(), reverse=True)
    return row


def run_modes(
    root: Path,
    chroma: ChromaServer,
    overrides: dict[str, Any],
    pids: dict[str, int],
    *,
    size: int,
    adds: int,
    queries: int,
    log: Callable[[str], None],
) -> tuple[dict[str, dict[str, float]], dict[str, Any], dict[str, int]]:
    """Part 1 on embedded stores under `root/embedded`, then in server mode with the app's
    data directory `root/app/data`: (numbers per mode, server mode's costs, memories
    stored per mode)."""
    from octomem.orchestrator.lifecycle import build_embedder

    shared = build_embedder(load_settings())
    inner = getattr(shared, "inner", shared)
    modes: dict[str, dict[str, float]] = {}
    stored: dict[str, int] = {}
    costs: dict[str, Any] = {}
    for mode in ("embedded", "server"):
        log(f"{mode}: {size} memories, {adds} adds, {queries} recalls")
        server = mode == "server"
        settings = (
            load_settings(data_dir=root / "app" / "data", **overrides)
            if server
            else load_settings(data_dir=root / "embedded")
        )
        meter = Meter(pids if server else {})
        # each mode its own embedder cache: no hits on the texts the other mode embedded
        embedder = CachedEmbedder(inner, max_bytes=getattr(shared, "max_bytes", 0))
        with (
            meter.counting(chroma.host_port[1]) if server else nullcontext(),
            Orchestrator(settings, embedder=embedder) as orch,
        ):
            modes[mode], mode_costs, stored[mode] = run_mode(
                mode, orch, meter, size=size, adds=adds, queries=queries
            )
        if server:
            costs = mode_costs
    return modes, costs, stored


def run_scale(
    *,
    size: int = 10_000,
    queries: int = 200,
    adds: int = 50,
    clients: int = 10,
    duration_s: float = 60.0,
    max_requests: int = 3000,
    seed: int = 1000,
    latency_ms: Sequence[float] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Everything the report shows: {"modes", "load", "costs", "run"}, and "latency" with
    `latency_ms` (`benchmarks.scale_latency`)."""
    run: dict[str, Any] = {"size": size, "queries": queries, "adds": adds, "clients": clients}
    run |= {"duration_s": duration_s, "max_requests": max_requests, "seed": seed}
    run["cores"], run["load_average_1m"] = os.cpu_count(), [round(os.getloadavg()[0], 1)]
    with tempfile.TemporaryDirectory(prefix="octomem-bench-scale-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        for name in ("chroma", "arcadedb", "app"):
            (root / name).mkdir()
        log("starting a Chroma server and an ArcadeDB Bolt server on 127.0.0.1")
        chroma = stack.enter_context(chroma_server(root / "chroma"))
        bolt = stack.enter_context(arcadedb_server(root / "arcadedb"))
        pids = {"chroma": chroma.pid or 0, "arcadedb": bolt.pid or 0}
        empty = {"chroma": dir_bytes(chroma.data_dir), "arcadedb": dir_bytes(bolt.database_dir)}
        config, env, overrides = server_settings(root, chroma, bolt)
        modes, costs, stored = run_modes(
            root, chroma, overrides, pids, size=size, adds=adds, queries=queries, log=log
        )
        grown = {
            "chroma": dir_bytes(chroma.data_dir) - empty["chroma"],
            "arcadedb": dir_bytes(bolt.database_dir) - empty["arcadedb"],
            "app_host_server_mode": dir_bytes(root / "app" / "data"),
        }
        per_1k = {k: round(v * 1000 / stored["server"]) for k, v in grown.items()}
        per_1k["embedded"] = round(dir_bytes(root / "embedded") * 1000 / stored["embedded"])
        costs["disk_bytes_per_1k_memories"] = per_1k
        costs["memories_stored"] = stored
        costs["server_rss_mb_after_modes"] = {
            n: round(rss_mb(p) or 0.0, 1) for n, p in pids.items()
        }
        latency = []
        if latency_ms:
            from benchmarks.scale_latency import run_latencies
            from octomem.orchestrator.lifecycle import build_embedder

            latency = run_latencies(
                root / "app" / "data",
                chroma,
                bolt,
                overrides,
                build_embedder(load_settings()),
                latency_ms,
                ingest=max(20, size // 50),
                adds=adds,
                queries=queries,
                log=log,
            )
        load = [
            run_app_load(
                workers,
                root / "app" / "data",
                config,
                env,
                pids,
                clients=clients,
                duration_s=duration_s,
                max_requests=max_requests,
                seed=seed if workers == 1 else 0,  # the second load finds the first's data
                log=log,
            )
            for workers in (1, 2)
        ]
        costs["server_rss_mb_after_load"] = {n: round(rss_mb(p) or 0.0, 1) for n, p in pids.items()}
    run["load_average_1m"].append(round(os.getloadavg()[0], 1))
    return {
        "modes": mode_rows(modes),
        "load": [*load, load_ratio(load)],
        "costs": costs,
        "run": run,
        **({"latency": latency} if latency_ms else {}),
    }


def mode_rows(modes: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    embedded, server = modes["embedded"], modes["server"]
    return [
        {
            "metric": m,
            "embedded": embedded[m],
            "server": server[m],
            "server/embedded": ratio(server[m], embedded[m]),
        }
        for m in embedded
    ]


def load_ratio(rows: list[dict[str, Any]]) -> dict[str, Any]:
    one, two = rows[0], rows[1]
    keys = ("req_per_s", "p50_ms", "p95_ms", "app_cpu_ms_per_request")
    return {"app_processes": "2/1", **{k: ratio(two.get(k), one.get(k)) for k in keys}}
