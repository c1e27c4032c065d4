"""The `octomem` command line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import structlog
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from octomem.bench.cli import bench_app
from octomem.errors import InvalidInputError, OctomemError
from octomem.models import HistoryEvent, MemoryBase, Operation

if TYPE_CHECKING:
    from octomem.orchestrator.engine import Orchestrator

app = typer.Typer(
    help="octomem: a memory layer for LLM agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # run() prints one line and sets the exit code
)
app.add_typer(bench_app, name="bench")
console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="overrides data_dir")]


def _configure_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    _configure_logging(verbose)


@app.command()
def demo(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Process a sample three-session conversation offline and show what recall finds."""
    from octomem.demo import run_demo
    from octomem.orchestrator.engine import Orchestrator

    with console.status("loading the embedder and stores..."):
        orch = Orchestrator.from_config(config, data_dir=data_dir)
    with orch:
        with console.status("processing three sessions..."):
            report = run_demo(orch)
        for session_id, result in report.processed:
            counts = {op.value: result.count(op) for op in Operation}
            summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            console.print(
                f"[bold]session {session_id}[/]: {len(result.turns)} turns stored; "
                f"{summary or 'no memories'} ({result.elapsed_s:.2f}s)"
            )
        console.rule("what each agent stored")
        for memory_type, memories in report.stored.items():
            table = Table(
                title=f"{memory_type.value} ({len(memories)})",
                show_lines=False,
                title_justify="left",
                expand=True,
            )
            table.add_column("memory")
            table.add_column("status", width=12)
            for memory in memories:
                status = "current" if memory.is_current else "superseded"
                table.add_row(escape(memory.content[:200]), status)
            console.print(table)
        console.rule("recall")
        for question, recalled in report.answers:
            flag = " (including superseded)" if question.get("include_superseded") else ""
            console.print(f"\n[bold cyan]Q: {question['query']}[/]{flag}")
            for rank, hit in enumerate(recalled.hits, 1):
                found_by = ",".join(sorted({p.retriever for p in hit.provenance}))
                text = escape(hit.memory.content.replace("\n", " ")[:120])
                console.print(
                    f"  {rank}. {escape(f'[{hit.memory_type.value}]')} {text}"
                    f"  [dim]({found_by}; {hit.score:.4f})[/]"
                )
        if report.answers:
            core = report.answers[0][1].core
            console.rule("core blocks (always returned)")
            for block in core:
                console.print(f"[bold]{block.label}[/]\n{block.content}")


# --- shared options and helpers ---------------------------------------------------------

UserOption = Annotated[str | None, typer.Option("--user", "-u", help="user_id scope")]
AgentOption = Annotated[str | None, typer.Option("--agent", help="agent_id scope")]
SessionOption = Annotated[str | None, typer.Option("--session", help="session_id scope")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
TypesOption = Annotated[
    list[str] | None,
    typer.Option("--type", "-t", help="memory type(s): core, episodic, semantic, ..."),
]
FilterOption = Annotated[
    str | None, typer.Option("--filter", help='filter as JSON, e.g. \'{"source": "chat"}\'')
]
SupersededOption = Annotated[
    bool, typer.Option("--include-superseded", help="also superseded and expired memories")
]


@contextmanager
def _orchestrator(
    config: Path | None, data_dir: Path | None, quiet: bool
) -> Iterator[Orchestrator]:
    from octomem.orchestrator.engine import Orchestrator

    if quiet:
        orch = Orchestrator.from_config(config, data_dir=data_dir)
    else:
        with err_console.status("loading the embedder and stores..."):
            orch = Orchestrator.from_config(config, data_dir=data_dir)
    with orch:
        yield orch


def _emit(payload: Any) -> None:
    """JSON on stdout, one document, for scripts."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


def _filters(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"--filter is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInputError('--filter must be a JSON object, e.g. {"source": "chat"}')
    return value


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return escape(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _memory_table(memories: list[MemoryBase], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    for column in ("type", "memory", "status", "updated"):
        table.add_column(column, no_wrap=column != "memory")
    for memory in memories:
        table.add_row(
            memory.memory_type.value,
            f"{_short(memory.content)}\n[dim]{memory.id}[/]",
            "current" if memory.is_current else "superseded",
            memory.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    return table


def _read_messages(source: str) -> Any:
    """A conversation from a file or stdin: JSON (a list of messages, one message, or an
    object with "messages") or plain text (one user message)."""
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"no file at {path}; pass a JSON or text file, or - for stdin")
        text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise InvalidInputError("the conversation is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()
    if isinstance(data, dict) and "messages" in data:
        return data["messages"]
    return data


# --- commands -----------------------------------------------------------------------------


@app.command()
def process(
    source: Annotated[str, typer.Argument(help="conversation file (JSON or text), or - for stdin")],
    user: UserOption = None,
    agent: AgentOption = None,
    session: SessionOption = None,
    types: TypesOption = None,
    infer: Annotated[bool, typer.Option(help="--no-infer stores the raw turns only")] = True,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a conversation and the memories its agents extract from it."""
    messages = _read_messages(source)
    with _orchestrator(config, data_dir, as_json) as orch:
        result = orch.process(
            messages,
            user_id=user,
            agent_id=agent,
            session_id=session,
            memory_types=types or None,
            infer=infer,
        )
    if as_json:
        _emit(result.model_dump(mode="json"))
        return
    table = Table(title=f"{len(result.turns)} turns stored", title_justify="left", expand=True)
    for column in ("operation", "type", "memory"):
        table.add_column(column, no_wrap=column != "memory")
    for op in result.all_operations():
        text = _short(op.text)
        if op.previous_text and op.operation is not Operation.NOOP:
            text += f" [dim](was: {_short(op.previous_text, 80)})[/]"
        table.add_row(op.operation.value, op.memory_type.value, f"{text}\n[dim]{op.memory_id}[/]")
    console.print(table)
    console.print(f"[dim]{result.elapsed_s:.2f}s, extraction: {result.extraction}[/]")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="what to look for, in natural language")],
    user: UserOption = None,
    agent: AgentOption = None,
    session: SessionOption = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1)] = None,
    types: TypesOption = None,
    filters: FilterOption = None,
    include_superseded: SupersededOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Hybrid recall (vector, keyword, graph; fused) through every agent."""
    where = _filters(filters)
    with _orchestrator(config, data_dir, as_json) as orch:
        result = orch.recall(
            query,
            user_id=user,
            agent_id=agent,
            session_id=session,
            limit=limit,
            memory_types=types or None,
            filters=where,
            include_superseded=include_superseded,
        )
    if as_json:
        _emit(result.model_dump(mode="json"))
        return
    table = Table(title=f"recall: {escape(query)}", title_justify="left", expand=True)
    for column in ("#", "type", "memory", "score", "found by"):
        table.add_column(column, no_wrap=column in ("#", "type", "score"))
    for rank, hit in enumerate(result.hits, 1):
        table.add_row(
            str(rank),
            hit.memory_type.value,
            f"{_short(hit.memory.content)}\n[dim]{hit.memory.id}[/]",
            f"{hit.score:.4f}",
            ", ".join(sorted({p.retriever for p in hit.provenance})),
        )
    console.print(table)
    for block in result.core:
        console.print(f"[bold]core/{block.label}[/]: {_short(block.content, 300)}")


@app.command()
def get(
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one memory (current or superseded)."""
    with _orchestrator(config, data_dir, as_json) as orch:
        memory = orch.get(memory_id)
    if as_json:
        _emit(memory.model_dump(mode="json"))
        return
    table = Table(show_header=False, title=memory.id, title_justify="left")
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value")
    for key, value in memory.model_dump(mode="json").items():
        if value not in (None, "", [], {}):
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            table.add_row(key, escape(shown))
    console.print(table)


@app.command("list")
def list_memories(
    user: UserOption = None,
    agent: AgentOption = None,
    session: SessionOption = None,
    types: TypesOption = None,
    filters: FilterOption = None,
    include_superseded: SupersededOption = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1)] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the memories in a scope, oldest first."""
    where = _filters(filters)
    with _orchestrator(config, data_dir, as_json) as orch:
        memories = orch.get_all(
            user_id=user,
            agent_id=agent,
            session_id=session,
            memory_types=types or None,
            filters=where,
            include_superseded=include_superseded,
            limit=limit,
        )
    if as_json:
        _emit([memory.model_dump(mode="json") for memory in memories])
        return
    console.print(_memory_table(memories, f"{len(memories)} memories"))


def _history_table(memory_id: str, events: list[HistoryEvent]) -> Table:
    table = Table(title=f"history of {memory_id}", title_justify="left", expand=True)
    for column in ("at", "operation", "old", "new", "actor"):
        table.add_column(column, no_wrap=column in ("at", "operation", "actor"))
    for event in events:
        table.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.operation.value,
            _short(event.old_value or "", 80),
            _short(event.new_value or "", 80),
            event.actor,
        )
    return table


@app.command()
def history(
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every change of one memory, oldest first."""
    with _orchestrator(config, data_dir, as_json) as orch:
        events = orch.history(memory_id)
    if as_json:
        _emit([event.model_dump(mode="json", exclude={"record"}) for event in events])
        return
    console.print(_history_table(memory_id, events))


@app.command()
def update(
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    text: Annotated[str, typer.Argument(help="the new text")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rewrite a memory's text; its history keeps the old text."""
    with _orchestrator(config, data_dir, as_json) as orch:
        memory = orch.update(memory_id, text)
    if as_json:
        _emit(memory.model_dump(mode="json"))
        return
    console.print(f"updated {memory.id} (version {memory.version})")


@app.command()
def delete(
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a memory from every store; its history stays readable."""
    with _orchestrator(config, data_dir, as_json) as orch:
        orch.delete(memory_id)
    if as_json:
        _emit({"id": memory_id, "deleted": True})
        return
    console.print(f"deleted {memory_id}")


def _progress_callback(progress: Progress, description: str) -> Any:
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update


@app.command("export")
def export_cmd(
    path: Annotated[Path, typer.Argument(help="the JSONL file to write")],
    user: UserOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write every memory (all users, or --user) with its history and the graph to JSONL."""
    with _orchestrator(config, data_dir, as_json) as orch:
        if as_json:
            summary = orch.export_jsonl(path, user_id=user)
        else:
            with Progress(console=err_console, transient=True) as progress:
                summary = orch.export_jsonl(
                    path, user_id=user, progress=_progress_callback(progress, "exporting")
                )
    if as_json:
        _emit({"path": str(path), **summary.model_dump()})
        return
    console.print(
        f"exported {summary.memories} memories ({summary.deleted_memories} deleted with "
        f"history), {summary.history_events} history events, {summary.entities} entities, "
        f"{summary.relations} relations to {escape(str(path))}"
    )


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="a JSONL file written by `octomem export`")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restore an export exactly (same ids, validity and history), without extraction."""
    with _orchestrator(config, data_dir, as_json) as orch:
        if as_json:
            summary = orch.import_jsonl(path)
        else:
            with Progress(console=err_console, transient=True) as progress:
                summary = orch.import_jsonl(
                    path, progress=_progress_callback(progress, "importing")
                )
    if as_json:
        _emit({"path": str(path), **summary.model_dump()})
        return
    console.print(
        f"imported {summary.memories} memories, {summary.history_events} history events, "
        f"{summary.entities} entities, {summary.relations} relations"
    )


@app.command()
def stats(
    user: UserOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Counts per agent (memory type) and store."""
    with _orchestrator(config, data_dir, as_json) as orch:
        counts = orch.stats(user_id=user)
    if as_json:
        _emit(counts)
        return
    scope = f"user {user}" if user else f"{counts['users']} users"
    table = Table(title=f"octomem stats ({escape(scope)})", title_justify="left")
    for column in ("agent", "current", "superseded", "history events"):
        table.add_column(column, justify="left" if column == "agent" else "right")
    for name, row in counts["memories"].items():
        table.add_row(
            name, str(row["current"]), str(row["superseded"]), str(counts["history_events"][name])
        )
    totals = counts["totals"]
    table.add_row(
        "[bold]total[/]",
        str(totals["current"]),
        str(totals["memories"] - totals["current"]),
        str(totals["history_events"]),
    )
    console.print(table)
    graph = counts["graph"]
    console.print(
        f"graph: {graph['relations']} relations ({graph['invalid_relations']} invalidated)"
    )


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


@app.command()
def mcp(
    transport: Annotated[
        Transport, typer.Option(help="stdio (for Claude Desktop and other local clients) or http")
    ] = Transport.stdio,
    host: Annotated[str, typer.Option(help="http: address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: port to listen on")] = 8765,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="default user_id for tool calls")
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Serve octomem's tools over MCP (stdio, or streamable HTTP at http://HOST:PORT/mcp)."""
    from octomem.mcp_server import serve

    serve(
        transport="http" if transport is Transport.http else "stdio",
        host=host,
        port=port,
        config=config,
        data_dir=data_dir,
        default_user_id=user,
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage errors: typer >= 0.20 raises those of its own vendored click."""
    errors: list[type[Exception]] = [click.ClickException]
    try:
        from typer.exceptions import TyperException

        errors.append(TyperException)
    except ImportError:  # older typer: plain click
        pass
    return tuple(errors)


def _aborts() -> tuple[type[BaseException], ...]:
    return (click.Abort, typer.Abort, KeyboardInterrupt)


def run() -> None:
    """Console entry point with the exit codes: 0 ok, 1 user error, 2 internal error.

    Errors are one line on stderr; results go to stdout.
    """
    try:
        code = app(standalone_mode=False)
    except _usage_errors() as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        # `octomem` alone prints the help: not an error
        sys.exit(0 if type(exc).__name__ == "NoArgsIsHelpError" else 1)
    except OctomemError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        sys.exit(1)
    except _aborts():
        sys.exit(1)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        print(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
