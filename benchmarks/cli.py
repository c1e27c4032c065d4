"""`python -m benchmarks <command> ...`: the benchmarks' commands (run from the repository's
root; `make bench*` runs them)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from octomem.errors import OctomemError

app = typer.Typer(
    help="Benchmarks: LoCoMo retrieval quality, speed at scale, the service, server mode.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[
    Path | None,
    typer.Option("--json", help="write results here; the .md table and .png chart go next to it"),
]


@app.command()
def locomo(
    data: Annotated[
        Path, typer.Option("--data", help="a LoCoMo-format JSON file (.json or .json.gz)")
    ] = Path("../shared/bench/locomo_dev.json"),
    limit_conversations: Annotated[
        int | None, typer.Option("--limit-conversations", help="only the first N")
    ] = None,
    conversations: Annotated[
        str | None, typer.Option("--conversations", help="comma-separated sample ids")
    ] = None,
    part: Annotated[
        str | None,
        typer.Option("--part", help="K/N: every N-th sample from the K-th (e.g. 1/2, 2/2)"),
    ] = None,
    infer: Annotated[
        bool, typer.Option("--infer/--raw", help="also run offline extraction (default: raw)")
    ] = False,
    mem0: Annotated[bool, typer.Option("--mem0/--no-mem0", help="mem0 too, if installed")] = True,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="octomem's YAML config (e.g. configs/server.yaml); default: embedded"
        ),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep",
            help="keep the stores in this directory; a later run with it reuses every "
            "conversation already ingested (to compare recall settings: --config)",
        ),
    ] = None,
    json_path: JsonOption = None,
) -> None:
    """Dialog-level evidence recall@k on LoCoMo (or LongMemEval in its schema), octomem vs
    baselines (and mem0), per question in the JSON."""
    import time

    from benchmarks.locomo import run_locomo
    from benchmarks.locomo_report import report_locomo

    if not data.is_file():
        raise typer.BadParameter(f"{data} is not a file", param_hint="--data")
    only = [c.strip() for c in conversations.split(",")] if conversations else None
    share = None
    if part is not None:
        k, _, n = part.partition("/")
        if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
            raise typer.BadParameter(f"{part!r}: use K/N with 1 <= K <= N", param_hint="--part")
        share = (int(k), int(n))
    started = time.perf_counter()
    scores, convs, systems = run_locomo(
        data,
        limit=limit_conversations,
        only=only,
        part=share,
        infer=infer,
        with_mem0=mem0,
        data_dir=keep,
        config=config,
        log=typer.echo,
    )
    report_locomo(
        scores,
        convs,
        systems,
        json_path=json_path,
        infer=infer,
        data=data,
        elapsed_s=time.perf_counter() - started,
        echo=typer.echo,
    )


@app.command("locomo-report")
def locomo_report(
    runs: Annotated[list[Path], typer.Argument(help="JSON files written by `locomo`")],
    data: Annotated[
        Path, typer.Option("--data", help="the data file the runs read (.json or .json.gz)")
    ] = Path("../shared/bench/locomo_dev.json"),
    json_path: JsonOption = None,
) -> None:
    """The tables and paired-bootstrap intervals of saved runs taken together (e.g. the
    parts of a run split with `--part`), from their per-question results."""
    from benchmarks.locomo_report import report_locomo, scores_from_runs

    for path in (data, *runs):
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a file")
    scores, convs, systems, infer = scores_from_runs(data, runs)
    report_locomo(
        scores, convs, systems, json_path=json_path, infer=infer, data=data, echo=typer.echo
    )


@app.command()
def perf(
    sizes: Annotated[str, typer.Option("--sizes", help="comma-separated memory counts")] = (
        "1000,10000,100000"
    ),
    queries: Annotated[int, typer.Option("--queries", help="recall calls per size")] = 200,
    mem0: Annotated[bool, typer.Option("--mem0/--no-mem0", help="mem0 too, if installed")] = True,
    mem0_max: Annotated[int, typer.Option("--mem0-max", help="largest size mem0 runs at")] = 1000,
    extract_max: Annotated[
        int, typer.Option("--extract-max", help="memories ingested in offline-extraction mode")
    ] = 2000,
    json_path: JsonOption = None,
) -> None:
    """Ingest throughput, recall latency p50/p95/p99 and RSS at 1k/10k/100k memories."""
    from benchmarks.perf import report_perf, run_perf

    try:
        counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"{sizes!r}: use e.g. 1000,10000", param_hint="--sizes") from None
    rows = run_perf(
        counts,
        queries=queries,
        with_mem0=mem0,
        mem0_max=mem0_max,
        extract_max=extract_max,
        log=typer.echo,
    )
    report_perf(rows, json_path=json_path, echo=typer.echo)


@app.command()
def serve(
    clients: Annotated[
        str, typer.Option("--clients", help="comma-separated concurrent client counts")
    ] = "10,50",
    duration: Annotated[
        float, typer.Option("--duration", help="seconds per load (at most)", min=0.1)
    ] = 60.0,
    max_requests: Annotated[
        int, typer.Option("--max-requests", help="requests per load (at most)", min=1)
    ] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="memories stored before the loads")] = 1000,
    url: Annotated[
        str | None, typer.Option("--url", help="a running service instead of starting one")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="its API key (read, write)")] = None,
    json_path: JsonOption = None,
) -> None:
    """The HTTP service under 80% search / 20% add load, side by side with in-process."""
    from benchmarks.serve import report_serve, run_serve_bench

    try:
        counts = [int(c) for c in clients.split(",") if c.strip()]
    except ValueError:
        raise typer.BadParameter(f"{clients!r}: use e.g. 10,50", param_hint="--clients") from None
    if not counts or min(counts) < 1:
        raise typer.BadParameter("at least one count of 1 or more", param_hint="--clients")
    if url is not None and key is None:
        raise typer.BadParameter("--url needs --key", param_hint="--key")
    rows = run_serve_bench(
        clients=counts,
        duration_s=duration,
        max_requests=max_requests,
        seed=seed,
        url=url,
        key=key,
        log=typer.echo,
    )
    report_serve(
        rows,
        json_path=json_path,
        echo=typer.echo,
        clients=counts,
        duration_s=duration,
        max_requests=max_requests,
        seed=seed,
    )


@app.command()
def scale(
    size: Annotated[int, typer.Option("--size", help="memories stored in each mode", min=1)] = (
        10_000
    ),
    queries: Annotated[int, typer.Option("--queries", help="recall calls per mode", min=1)] = 200,
    adds: Annotated[
        int, typer.Option("--adds", help="single-message process calls per mode", min=1)
    ] = 50,
    clients: Annotated[
        int, typer.Option("--clients", help="concurrent clients of each load", min=1)
    ] = 10,
    duration: Annotated[
        float, typer.Option("--duration", help="seconds per load (at most)", min=0.1)
    ] = 60.0,
    max_requests: Annotated[
        int, typer.Option("--max-requests", help="requests per load (at most)", min=1)
    ] = 3000,
    seed: Annotated[
        int, typer.Option("--seed", help="memories stored for the loads' users", min=0)
    ] = 1000,
    latency_ms: Annotated[
        str,
        typer.Option(
            "--latency-ms",
            help="one-way delays (ms, comma-separated) of a proxy before each server, e.g. 1,5",
        ),
    ] = "",
    json_path: JsonOption = None,
) -> None:
    """Server mode against embedded, and two app processes against one, in one run: starts
    a Chroma server and an ArcadeDB Bolt server on 127.0.0.1 (needs arcadedb-embedded);
    with --latency-ms, server mode again behind a delaying proxy at each delay."""
    from benchmarks.scale import run_scale
    from benchmarks.scale_report import report_scale

    result = run_scale(
        size=size,
        queries=queries,
        adds=adds,
        clients=clients,
        duration_s=duration,
        max_requests=max_requests,
        seed=seed,
        latency_ms=parse_delays(latency_ms),
        log=typer.echo,
    )
    report_scale(result, json_path=json_path, echo=typer.echo)


def parse_delays(text: str) -> list[float]:
    """ "1,5" -> [1.0, 5.0]; a bad value is a usage error, not a traceback."""
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"--latency-ms takes numbers like 1,5; got {text!r}") from None
    if any(d < 0 or d > 1000 for d in delays):
        raise typer.BadParameter("--latency-ms: each delay between 0 and 1000 ms")
    return delays


@app.command()
def store(
    items: Annotated[int, typer.Option("--items", help="puts, over four namespaces", min=1)] = 300,
    queries: Annotated[int, typer.Option("--queries", help="searches with a query", min=1)] = 100,
    mode: Annotated[
        str, typer.Option("--mode", help="async (aput, asearch) or sync (put, search)")
    ] = "async",
    ranking: Annotated[
        str, typer.Option("--ranking", help="the OctomemStore's search order: hybrid or vector")
    ] = "hybrid",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="write the ratios and every timing here")
    ] = None,
) -> None:
    """The LangGraph store adapter (OctomemStore) against LangGraph's InMemoryStore with the
    same MiniLM embedder: put and search cost side by side in one run, as ratios."""
    from benchmarks.store_cost import run

    if mode not in ("async", "sync"):
        raise typer.BadParameter(f"{mode!r}: use async or sync", param_hint="--mode")
    if ranking not in ("hybrid", "vector"):
        raise typer.BadParameter(f"{ranking!r}: use hybrid or vector", param_hint="--ranking")
    run(items, queries, mode, json_path, ranking=ranking, echo=typer.echo)  # type: ignore[arg-type]


def run() -> None:
    """The entry point: an octomem error (bad input, a server that did not come up) is one
    line on stderr and exit code 1."""
    try:
        app()
    except OctomemError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
