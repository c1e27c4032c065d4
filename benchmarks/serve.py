"""`python -m benchmarks serve`: the HTTP service under load, side by side with the same calls
made in-process on an Orchestrator.

It starts `octomem serve` on 127.0.0.1 with a data directory of its own (or takes
`--url` and `--key`), seeds `seed` memories over `USERS` users on both sides, then per
load of N concurrent clients runs the same operation mix over HTTP (async httpx) and
in-process (N coroutines on one Orchestrator with the same data): 80% search
(`POST /v1/recall` / `arecall`), 20% add (`POST /v1/process` / `aprocess`, a unique fact
each). A load stops at `duration` seconds or `max_requests` requests, whichever is first.

Per load and side: p50/p95/p99 latency, requests/s, errors (any non-2xx or transport
error, by status), lost writes (every memory id an acknowledged add returned that cannot
be read afterwards, unless a later add of the run deleted it) and resident memory (the
server's process over HTTP, this process in-process; peak sampled during the load, and
at its end). The overhead rows give HTTP over in-process as a p50 ratio and difference.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from benchmarks.perf import percentile
from benchmarks.servers import answers, descendants, free_port, running
from benchmarks.synthetic import NAMES, PLACES, memories, questions

USERS = 10
RUN = uuid.uuid4().hex[:4]  # facts differ between runs too (a server given by --url keeps them)
ADD_SHARE = 0.2
SEED_BATCH = 50
COLOURS = "red blue green amber violet teal ochre grey".split()
THINGS = "bicycle kayak violin telescope sewing-machine drone camera tent".split()


class Target(Protocol):
    """One side of the comparison: the same three calls, over HTTP or in-process."""

    async def add(self, user: str, text: str) -> tuple[list[str], list[str]]:
        """(ids written, ids removed) by storing `text` as `user`'s message."""
        ...

    async def search(self, user: str, query: str) -> None: ...

    async def exists(self, user: str, memory_id: str) -> bool: ...


class Failed(Exception):
    """A call that did not succeed; `kind` is its status or its transport error."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _kind(answer: httpx.Response) -> str:
    """A failed answer's status, and its problem type where it has one ("503 deadline"):
    which of a status's causes it was."""
    try:
        problem = str(answer.json().get("type", "")).rsplit("/", 1)[-1]
    except (ValueError, AttributeError):  # no JSON, or JSON that is not a problem
        problem = ""
    return f"{answer.status_code} {problem}".strip()


def _ids(operations: list[dict[str, Any]], turn_ids: list[str]) -> tuple[list[str], list[str]]:
    removed = [op["memory_id"] for op in operations if op["operation"] == "DELETE"]
    written = [op["memory_id"] for op in operations if op["operation"] not in ("DELETE", "NOOP")]
    return [*turn_ids, *written], removed


class HttpTarget:
    """Over HTTP, `clients` connections at most; without `keepalive` a new connection per
    request, so that the requests spread over the processes of an `octomem serve --workers
    N` (a kept connection stays with the process that accepted it)."""

    def __init__(self, url: str, key: str, clients: int, *, keepalive: bool = True) -> None:
        kept = clients if keepalive else 0
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=kept)
        self.http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Token {key}"}, limits=limits, timeout=120
        )

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            answer = await self.http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise Failed(type(exc).__name__) from exc
        if not answer.is_success:
            raise Failed(_kind(answer))
        return answer.json()

    async def add(self, user: str, text: str) -> tuple[list[str], list[str]]:
        body = await self._post("/v1/process", {"messages": text, "user_id": user})
        return _ids(body["operations"], body["turn_memory_ids"])

    async def search(self, user: str, query: str) -> None:
        await self._post("/v1/recall", {"query": query, "user_id": user})

    async def exists(self, user: str, memory_id: str) -> bool:
        answer = await self.http.get(f"/v1/records/{memory_id}", params={"user_id": user})
        return answer.status_code == 200

    async def seed(self, user: str, texts: list[str]) -> None:
        messages = [{"role": "user", "content": t} for t in texts]
        await self._post("/v1/process", {"messages": messages, "user_id": user, "infer": False})

    async def close(self) -> None:
        await self.http.aclose()


class LocalTarget:
    def __init__(self, orch: Any) -> None:
        self.orch = orch

    async def add(self, user: str, text: str) -> tuple[list[str], list[str]]:
        result = await self.orch.aprocess(text, user_id=user)
        operations = [op.model_dump(mode="json") for op in result.all_operations()]
        return _ids(operations, result.turn_memory_ids)

    async def search(self, user: str, query: str) -> None:
        await self.orch.arecall(query, user_id=user)

    async def exists(self, user: str, memory_id: str) -> bool:
        from octomem.errors import NotFoundError

        try:
            await self.orch.aget(memory_id, user_id=user)
        except NotFoundError:
            return False
        return True

    async def seed(self, user: str, texts: list[str]) -> None:
        messages = [{"role": "user", "content": t} for t in texts]
        await self.orch.aprocess(messages, user_id=user, infer=False)


def fact(tag: str, i: int) -> str:
    """A fact no other call of the run states (so each add is a new memory)."""
    rng = random.Random(f"{tag}-{i}")
    name = f"{rng.choice(NAMES)} {tag.upper()}{i}"
    return (
        f"My friend {name} keeps a {rng.choice(COLOURS)} {rng.choice(THINGS)} "
        f"in {rng.choice(PLACES)}, in locker {rng.randrange(10_000)}."
    )


@dataclass
class Load:
    """What one load of one side measured."""

    side: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    add_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    written: list[tuple[str, str]] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    elapsed_s: float = 0.0
    lost: int = 0
    rss_peak_mb: float | None = None
    rss_end_mb: float | None = None
    cpu_s: float | None = None  # CPU the served side's process spent on this load
    watched_cpu_s: dict[str, float | None] = field(default_factory=dict)  # other processes'

    def row(self) -> dict[str, Any]:
        lat = self.latencies_ms or [0.0]
        return {
            "clients": self.clients,
            "side": self.side,
            "requests": len(self.latencies_ms),
            "req_per_s": round(len(self.latencies_ms) / max(self.elapsed_s, 1e-9), 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p95_ms": round(percentile(lat, 95), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "search_p50_ms": round(percentile(self.search_ms or [0.0], 50), 2),
            "add_p50_ms": round(percentile(self.add_ms or [0.0], 50), 2),
            "errors": sum(self.errors.values()),
            "errors_by_status": dict(self.errors),
            "writes_checked": len(self.written),
            "lost_writes": self.lost,
            "rss_peak_mb": self.rss_peak_mb,
            "rss_end_mb": self.rss_end_mb,
            "cpu_ms_per_request": None
            if self.cpu_s is None
            else round(1000 * self.cpu_s / max(len(self.latencies_ms), 1), 2),
            **{
                f"{name}_cpu_ms_per_request": None
                if spent is None
                else round(1000 * spent / max(len(self.latencies_ms), 1), 2)
                for name, spent in self.watched_cpu_s.items()
            },
        }


def _tree(pid: int, children: bool) -> list[int]:
    return [pid, *(child for child, _ in descendants(pid))] if children else [pid]


def rss_mb(pid: int, *, children: bool = False) -> float | None:
    """Resident memory of process `pid` (with `children`: and the processes it started, as
    an `octomem serve --workers N`'s workers), MB (Linux /proc); None elsewhere."""
    total = None
    for one in _tree(pid, children):
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = (total or 0.0) + int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def cpu_s(pid: int, *, children: bool = False) -> float | None:
    """CPU time (user + system, all threads) process `pid` (with `children`: and the
    processes it started) has used, s (Linux /proc)."""
    total = None
    for one in _tree(pid, children):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total = (total or 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


async def run_load(
    target: Target,
    side: str,
    clients: int,
    *,
    duration_s: float,
    max_requests: int,
    queries: list[str],
    pid: int | None,
    children: bool = False,
    watch: dict[str, int] | None = None,
    seed: int = 5,
) -> Load:
    """`clients` workers take the next operation of one shared, seeded sequence until
    the time or the request budget is spent; then every acknowledged write is read back.
    The served process `pid` (`children`: with its workers) is sampled for memory and CPU,
    the processes in `watch` (by name) for CPU."""
    load = Load(side, clients)
    rng = random.Random(seed)
    plan = ["add" if rng.random() < ADD_SHARE else "search" for _ in range(max_requests)]
    tag = f"{RUN}{side[0]}{clients}"
    next_op = iter(range(max_requests))
    started = time.perf_counter()
    deadline = started + duration_s
    peak = 0.0

    async def worker(w: int) -> None:
        for i in next_op:
            if time.perf_counter() >= deadline:
                return
            user = f"bench-u{(w + i) % USERS}"
            t0 = time.perf_counter()
            try:
                if plan[i] == "add":
                    written, removed = await target.add(user, fact(tag, i))
                    load.written += [(user, m) for m in written]
                    load.removed.update(removed)
                else:
                    await target.search(user, queries[i % len(queries)])
            except Failed as exc:
                load.errors[exc.kind] += 1
                continue
            ms = 1000 * (time.perf_counter() - t0)
            load.latencies_ms.append(ms)
            (load.add_ms if plan[i] == "add" else load.search_ms).append(ms)

    async def sample() -> None:
        nonlocal peak
        while pid is not None:
            peak = max(peak, rss_mb(pid, children=children) or 0.0)
            await asyncio.sleep(0.25)

    cpu_before = None if pid is None else cpu_s(pid, children=children)
    watched = {name: cpu_s(other) for name, other in (watch or {}).items()}
    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(worker(w) for w in range(clients)))
    load.elapsed_s = time.perf_counter() - started
    sampler.cancel()
    cpu_after = None if pid is None else cpu_s(pid, children=children)
    if cpu_before is not None and cpu_after is not None:
        load.cpu_s = cpu_after - cpu_before
    for name, other in (watch or {}).items():
        before, after = watched[name], cpu_s(other)
        load.watched_cpu_s[name] = None if before is None or after is None else after - before
    if pid is not None:
        load.rss_end_mb = round(rss_mb(pid, children=children) or 0.0, 1)
        load.rss_peak_mb = round(max(peak, load.rss_end_mb), 1)
    load.lost = await _count_lost(target, load)
    return load


async def _count_lost(target: Target, load: Load, at_once: int = 8) -> int:
    gate = asyncio.Semaphore(at_once)

    async def missing(user: str, memory_id: str) -> bool:
        if memory_id in load.removed:
            return False
        async with gate:
            return not await target.exists(user, memory_id)

    found = await asyncio.gather(*(missing(u, m) for u, m in load.written))
    return sum(found)


# --- the server ---------------------------------------------------------------------------


@contextmanager
def started_server(
    data_dir: Path,
    timeout_s: float = 180,
    *,
    config: Path | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, str, int]]:
    """`octomem serve` (`--workers`, `--config`, OCTOMEM_* settings in `env`) on a free
    loopback port over `data_dir`: (url, key, pid); stopped with SIGTERM (then killed),
    its workers too, however the bench ends. It runs this process's octomem."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, **(env or {}), "OCTOMEM_DATA_DIR": str(data_dir), "PYTHONPATH": path}
    octomem = [sys.executable, "-m", "octomem"]
    options = ["--config", str(config)] if config is not None else []
    created = subprocess.run(
        [*octomem, "keys", "create", "--project", "default", "--scope", "read,write,delete"]
        + ["--rate-limit", "1000000000", "--name", "bench", "--json", *options],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(created.stdout)["key"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [*octomem, "serve", "--port", str(port), "--workers", str(workers), *options]
    with running(
        cmd,
        log_path=data_dir.parent / f"serve-{port}.log",
        ready=lambda: answers(url + "/readyz"),
        timeout_s=timeout_s,
        what="octomem serve",
        stop_s=60,  # its requests' grace, then closing the stores
        env=env,
    ) as proc:
        yield url, key, proc.pid


# --- the run ------------------------------------------------------------------------------


async def seed_memories(target: Any, seed_count: int) -> None:
    texts = memories(seed_count, seed=3)
    per_user = [texts[u::USERS] for u in range(USERS)]
    for u, mine in enumerate(per_user):
        for start in range(0, len(mine), SEED_BATCH):
            await target.seed(f"bench-u{u}", mine[start : start + SEED_BATCH])


async def _compare(
    http: HttpTarget,
    local: LocalTarget,
    *,
    clients: list[int],
    duration_s: float,
    max_requests: int,
    pid: int | None,
    log: Callable[[str], None],
) -> list[Load]:
    queries = questions(500)
    loads: list[Load] = []
    for n in clients:
        sides: list[tuple[str, Target, int | None]] = [
            ("http", http, pid),
            ("in-process", local, os.getpid()),
        ]
        for side, target, watched in sides:
            log(f"{n} clients, {side}: up to {duration_s:g} s or {max_requests} requests")
            load = await run_load(
                target,
                side,
                n,
                duration_s=duration_s,
                max_requests=max_requests,
                queries=queries,
                pid=watched,
                children=side == "http",  # the served process and its workers, if any
            )
            loads.append(load)
    return loads


def run_serve_bench(
    *,
    clients: list[int],
    duration_s: float = 60.0,
    max_requests: int = 5000,
    seed: int = 1000,
    url: str | None = None,
    key: str | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """The rows of the table: one per load and side, then the overhead per load."""
    from octomem.orchestrator.engine import Orchestrator
    from octomem.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="octomem-bench-serve-") as tmp:
        root = Path(tmp)
        with _server(url, key, root / "server" / "data") as (base, secret, pid):
            settings = load_settings(data_dir=root / "inproc")
            with Orchestrator(settings) as orch:
                http = HttpTarget(base, secret, max(clients))
                local = LocalTarget(orch)

                async def run() -> list[Load]:
                    try:
                        log(f"seeding {seed} memories on each side")
                        await asyncio.gather(seed_memories(http, seed), seed_memories(local, seed))
                        return await _compare(
                            http,
                            local,
                            clients=clients,
                            duration_s=duration_s,
                            max_requests=max_requests,
                            pid=pid,
                            log=log,
                        )
                    finally:
                        await http.close()

                loads = orch.run_sync(run())
    return rows_of(loads)


@contextmanager
def _server(
    url: str | None, key: str | None, data_dir: Path
) -> Iterator[tuple[str, str, int | None]]:
    if url is not None:
        if key is None:
            raise ValueError("--url needs --key (a key with read and write scopes)")
        yield url.rstrip("/"), key, None
        return
    data_dir.mkdir(parents=True)
    with started_server(data_dir) as (base, secret, pid):
        yield base, secret, pid


def rows_of(loads: list[Load]) -> list[dict[str, Any]]:
    rows = [load.row() for load in loads]
    by_key = {(r["clients"], r["side"]): r for r in rows}
    for n in sorted({r["clients"] for r in rows}):
        over, local = by_key.get((n, "http")), by_key.get((n, "in-process"))
        if over is None or local is None:
            continue
        rows.append(
            {
                "clients": n,
                "side": "overhead",
                "p50_ratio": round(over["p50_ms"] / max(local["p50_ms"], 1e-9), 2),
                "p50_diff_ms": round(over["p50_ms"] - local["p50_ms"], 2),
                "req_per_s_ratio": round(over["req_per_s"] / max(local["req_per_s"], 1e-9), 2),
                "cpu_diff_ms": None
                if over["cpu_ms_per_request"] is None or local["cpu_ms_per_request"] is None
                else round(over["cpu_ms_per_request"] - local["cpu_ms_per_request"], 2),
            }
        )
    return rows


HEADER = (
    "clients",
    "side",
    "requests",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "search p50",
    "add p50",
    "errors",
    "lost writes",
    "RSS peak/end MB",
    "CPU ms/request",
)


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of `rows` (the overhead rows last, one per load)."""
    from benchmarks.report import markdown_table

    lines = []
    for r in rows:
        if r["side"] == "overhead":
            continue
        rss = "-" if r["rss_end_mb"] is None else f"{r['rss_peak_mb']:.0f} / {r['rss_end_mb']:.0f}"
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors_by_status"].items()) or "0"
        lines.append(
            [r["clients"], r["side"], r["requests"], r["req_per_s"], r["p50_ms"], r["p95_ms"]]
            + [r["p99_ms"], r["search_p50_ms"], r["add_p50_ms"], errors]
            + [f"{r['lost_writes']} of {r['writes_checked']}", rss]
            + ["-" if r["cpu_ms_per_request"] is None else r["cpu_ms_per_request"]]
        )
    out = markdown_table(HEADER, lines)
    overhead = [
        f"- {r['clients']} clients: HTTP p50 = {r['p50_ratio']:.2f} x in-process "
        f"({r['p50_diff_ms']:+.2f} ms); throughput {r['req_per_s_ratio']:.2f} x"
        + ("" if r["cpu_diff_ms"] is None else f"; server CPU {r['cpu_diff_ms']:+.2f} ms a request")
        for r in rows
        if r["side"] == "overhead"
    ]
    return out + ("\n\nHTTP overhead:\n" + "\n".join(overhead) if overhead else "")


def report_serve(
    rows: list[dict[str, Any]], *, json_path: Path | None, echo: Callable[[str], None], **run: Any
) -> None:
    from benchmarks.report import machine, write_json

    text = table(rows)
    echo(text)
    if json_path is not None:
        write_json(json_path, rows, machine=machine(), run=run)
        json_path.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
        echo(f"wrote {json_path} and {json_path.with_suffix('.md')}")
