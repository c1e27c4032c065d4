"""The tables of `python -m benchmarks scale`: printed, and with `--json` written next to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.report import machine, markdown_table, write_json

MODE_NAMES = {
    "ingest_per_s": "ingest, memories/s (20 a call)",
    "add_p50_ms": "add p50 ms (one message, offline extraction)",
    "add_p95_ms": "add p95 ms",
    "recall_p50_ms": "recall p50 ms",
    "recall_p95_ms": "recall p95 ms",
}
COSTS = (
    ("recall", "recall"),
    ("add", "add (one message)"),
    ("ingest_per_memory", "ingested memory"),
)
COST_KEYS = (
    ("chroma_requests", "Chroma HTTP requests"),
    ("chroma_requests_ms", "ms in them"),
    ("bolt_round_trips", "Bolt round trips"),
    ("graph_transactions", "graph transactions"),
    ("graph_transactions_ms", "ms in them"),
    ("app_cpu_ms", "app CPU ms"),
    ("chroma_cpu_ms", "Chroma CPU ms"),
    ("arcadedb_cpu_ms", "ArcadeDB CPU ms"),
)
CPU = ("app", "chroma", "arcadedb", "load_generator")
# docs/deployment.md's sizing: at peak a tenth of the users are in a conversation, each
# taking a turn (one recall, one add) every 10 s; each user holds 1,000 memories; cores
# are sized for 60% utilisation
SIZING_USERS = (1_000, 100_000, 10_000_000)
TURN_SHARE, TURN_EVERY_S, MEMORIES_PER_USER, UTILISATION = 0.1, 10, 1_000, 0.6
VECTOR_BYTES = 384 * 4


def cell(value: Any) -> str:
    """A number as the tables show it: 2 decimals under 100, none above; '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def breakdown(cost: dict[str, float]) -> str:
    """The requests and transactions of one operation by kind, most first."""
    parts = []
    for key, label in (("chroma_requests", "Chroma"), ("graph_transactions", "graph")):
        kinds = [
            (k.split(": ", 1)[1], v)
            for k, v in cost.items()
            if k.startswith(f"{key}: ") and v >= 0.005  # what shows as 0.00 is left out
        ]
        kinds.sort(key=lambda kind: -kind[1])
        if kinds:
            parts.append(f"{label} " + ", ".join(f"{k} {cell(v)}" for k, v in kinds))
    return "; ".join(parts)


def tables(result: dict[str, Any]) -> str:
    run, costs = result["run"], result["costs"]
    modes = markdown_table(
        ["", "embedded", "server", "server/embedded"],
        [
            [MODE_NAMES.get(r["metric"], r["metric"])]
            + [cell(r[k]) for k in ("embedded", "server", "server/embedded")]
            for r in result["modes"]
        ],
    )
    load_rows = []
    for r in result["load"]:
        if r["app_processes"] == "2/1":
            load_rows.append(
                ["2/1", "", cell(r["req_per_s"]), cell(r["p50_ms"]), cell(r["p95_ms"])]
                + ["", "", "", cell(r["app_cpu_ms_per_request"]), "", "", ""]
            )
            continue
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors_by_status"].items()) or "0"
        load_rows.append(
            [r["app_processes"], r["requests"], cell(r["req_per_s"]), cell(r["p50_ms"])]
            + [cell(r["p95_ms"]), errors, f"{r['lost_writes']} of {r['writes_checked']}"]
            + [" / ".join(str(n) for n in r["requests_per_process"])]
            + [cell(r.get(f"{name}_cpu_ms_per_request")) for name in CPU]
        )
    load = markdown_table(
        ["app processes", "requests", "req/s", "p50 ms", "p95 ms", "errors", "lost writes"]
        + ["requests per process", "app CPU ms/req", "Chroma CPU ms/req"]
        + ["ArcadeDB CPU ms/req", "load generator CPU ms/req"],
        load_rows,
    )
    per_op = markdown_table(
        ["per", *(name for _, name in COST_KEYS)],
        [[label, *(cell(costs.get(key, {}).get(k)) for k, _ in COST_KEYS)] for key, label in COSTS],
    )
    latency = latency_table(result.get("latency") or [])
    disk = costs["disk_bytes_per_1k_memories"]
    rss_modes, rss_load = costs["server_rss_mb_after_modes"], costs["server_rss_mb_after_load"]
    return "\n\n".join(
        [
            f"Embedded against server mode, {run['size']:,} memories of one user, "
            f"{run['adds']} adds, {run['queries']} recalls:",
            modes,
            f"App processes in server mode under {run['clients']} clients (80% search / "
            f"20% add, at most {run['duration_s']:g} s or {run['max_requests']} requests):",
            load,
            "Per operation in server mode (what this process sent the servers; ms summed "
            "over the operation's calls):",
            per_op,
            "\n".join(f"- {label}: {breakdown(costs.get(key, {}))}" for key, label in COSTS),
            "Disk per 1k memories stored: "
            + ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in disk.items())
            + f" ({costs['memories_stored']['server']:,} stored in server mode)."
            + " Server RSS MB after part 1 / after the loads: "
            + ", ".join(f"{n} {rss_modes[n]:,.0f} / {rss_load[n]:,.0f}" for n in rss_modes)
            + ".",
            *sizing(costs),
            *latency,
            "Load average (1 min) at the start and the end: "
            + " / ".join(str(v) for v in run.get("load_average_1m", []))
            + f" (this run included; above {run.get('cores')}, other work shared the cores).",
        ]
    )


def latency_table(rows: list[dict[str, Any]]) -> list[str]:
    """The servers behind a delaying proxy: one row per one-way delay (none: no rows)."""
    if not rows:
        return []
    table = markdown_table(
        ["one-way ms", "recall p50 / p95 ms", "add p50 / p95 ms", "fact add p50 / p95 ms"]
        + ["ingest memories/s", "recall p50 / at 0", "add p50 / at 0", "fact add p50 / at 0"]
        + ["per recall: Chroma / Bolt round trips", "per add: Chroma / Bolt round trips"]
        + ["per fact add: Chroma / Bolt round trips"],
        [
            [cell(r["one_way_ms"]), f"{cell(r['recall_p50_ms'])} / {cell(r['recall_p95_ms'])}"]
            + [f"{cell(r['add_p50_ms'])} / {cell(r['add_p95_ms'])}"]
            + [f"{cell(r['fact_add_p50_ms'])} / {cell(r['fact_add_p95_ms'])}"]
            + [cell(r["ingest_per_s"]), cell(r["recall_p50_ms_vs_0"])]
            + [cell(r["add_p50_ms_vs_0"]), cell(r["fact_add_p50_ms_vs_0"])]
            + [f"{cell(r['recall_chroma_requests'])} / {cell(r['recall_bolt_round_trips'])}"]
            + [f"{cell(r['add_chroma_requests'])} / {cell(r['add_bolt_round_trips'])}"]
            + [f"{cell(r['fact_add_chroma_requests'])} / {cell(r['fact_add_bolt_round_trips'])}"]
            for r in rows
        ],
    )
    return ["Server mode with each server behind a delaying proxy (0 ms: the proxy alone):", table]


def _si(value: float) -> str:
    """A count or size in the sizing table: 1.6, 183, 18.3k, 1.83M, 15.4G, 98T."""
    # (from, unit, suffix): thousands only from 10,000 on ("1,630", then "16.3k")
    for start, unit, suffix in (
        (1e12, 1e12, "T"),
        (1e9, 1e9, "G"),
        (1e6, 1e6, "M"),
        (1e4, 1e3, "k"),
    ):
        if value >= start:
            return f"{value / unit:.3g}{suffix}"
    return f"{value:.2g}" if value < 10 else f"{value:,.0f}"


def sizing(costs: dict[str, Any]) -> list[str]:
    """docs/deployment.md's capacity table from one run's per-operation costs: cores per
    tier, requests and write transactions per second, disk and vector RAM, for
    `SIZING_USERS`; the arithmetic under the table."""
    recall, add = costs.get("recall"), costs.get("add")
    disk = costs.get("disk_bytes_per_1k_memories") or {}
    if not recall or not add or "chroma" not in disk:
        return []

    def both(key: str) -> float:
        return float(recall.get(key, 0.0)) + float(add.get(key, 0.0))

    writes = add.get("graph_transactions", 0.0) - add.get("graph_transactions: erasures", 0.0)
    rows = []
    for users in SIZING_USERS:
        rate = users * TURN_SHARE / TURN_EVERY_S
        memories = users * MEMORIES_PER_USER
        rows.append(
            [f"{users:,}", _si(rate)]
            + [_si(rate * both(f"{tier}_cpu_ms") / 1000 / UTILISATION) for tier in CPU[:3]]
            + [_si(rate * both("chroma_requests")), _si(rate * writes), f"{memories / 1e6:,.0f}M"]
            + [f"{_si(memories * disk['chroma'] / 1000)}B / {_si(memories * VECTOR_BYTES)}B"]
            + [f"{_si(memories * disk['arcadedb'] / 1000)}B"]
        )
    table = markdown_table(
        ["users", "recalls/s = adds/s", "app cores", "Chroma cores", "graph cores"]
        + ["Chroma requests/s", "graph write tx/s", "memories", "Chroma disk / vector RAM"]
        + ["graph disk"],
        rows,
    )
    cpu = ", ".join(
        f"{tier} {cell(recall.get(f'{tier}_cpu_ms'))} + {cell(add.get(f'{tier}_cpu_ms'))} ms"
        for tier in CPU[:3]
    )
    return [
        f"Sizing from these costs (a tenth of the users in a conversation, a turn - one "
        f"recall, one add - every {TURN_EVERY_S} s each, {MEMORIES_PER_USER:,} memories a "
        f"user; cores at {UTILISATION:.0%} busy):",
        table,
        f"cores = rate x (recall + add CPU) / 1000 / {UTILISATION} ({cpu}); Chroma requests "
        f"= rate x ({cell(recall.get('chroma_requests'))} + "
        f"{cell(add.get('chroma_requests'))}); graph write transactions = rate x "
        f"{cell(writes)} (an add's, its erasure check a read); disk = memories x the bytes "
        f"per memory above; vector RAM = memories x {VECTOR_BYTES} bytes.",
    ]


def report_scale(
    result: dict[str, Any], *, json_path: Path | None, echo: Callable[[str], None] = print
) -> None:
    text = tables(result)
    echo(text)
    if json_path is not None:
        rows = [{"part": "modes", **r} for r in result["modes"]]
        rows += [{"part": "load", **r} for r in result["load"]]
        rows += [{"part": "latency", **r} for r in result.get("latency") or []]
        write_json(
            json_path,
            rows,
            benchmark="scale",
            costs=result["costs"],
            run=result["run"],
            machine=machine(),
        )
        json_path.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
        echo(f"wrote {json_path} and {json_path.with_suffix('.md')}")
