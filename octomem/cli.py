"""The `octomem` command line."""

from __future__ import annotations

import atexit
import gc
import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.markup import escape
from rich.table import Table

from octomem import _gc
from octomem.cli_service import keys_app, serve, ui
from octomem.cli_support import (
    AgentOption,
    ConfigOption,
    DataDirOption,
    FilterOption,
    OwnerAgentOption,
    OwnerUserOption,
    ProjectOption,
    SessionOption,
    StoreOptions,
    SupersededOption,
    TypesOption,
    UserOption,
    console,
    err_console,
    parse_filters,
    printable,
    progress_bar,
    read_messages,
    short,
    store_command,
)
from octomem.errors import OctomemError, ScopeRequiredError
from octomem.models import Operation

app = typer.Typer(
    help="octomem: a memory layer for LLM agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # run() prints one line and sets the exit code
)
app.add_typer(keys_app, name="keys")
app.command()(serve)
app.command()(ui)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s [%(levelname)s] %(message)s"
    )


@app.command()
def demo(
    config: ConfigOption = None, data_dir: DataDirOption = None, project: ProjectOption = None
) -> None:
    """Process a sample three-session conversation offline and show what recall finds."""
    from octomem.demo import print_report, run_demo

    with StoreOptions(config, data_dir, project).open(embeds=True) as orch:
        with console.status("processing three sessions..."):
            report = run_demo(orch)
        print_report(console, report)


@store_command(app)
def process(
    opts: StoreOptions,
    source: Annotated[str, typer.Argument(help="conversation file (JSON or text), or - for stdin")],
    user: UserOption = None,
    agent: AgentOption = None,
    session: SessionOption = None,
    types: TypesOption = None,
    infer: Annotated[bool, typer.Option(help="--no-infer stores the raw turns only")] = True,
) -> None:
    """Store a conversation and the memories its agents extract from it."""
    messages = read_messages(source)
    with opts.open(embeds=True) as orch:
        result = orch.process(
            messages,
            user_id=user,
            agent_id=agent,
            session_id=session,
            memory_types=types or None,
            infer=infer,
        )
    if opts.emitted(result.model_dump(mode="json")):
        return
    table = Table(title=f"{len(result.turns)} turns stored", title_justify="left", expand=True)
    for column in ("operation", "type", "memory"):
        table.add_column(column, no_wrap=column != "memory")
    for op in result.all_operations():
        text = short(op.text)
        if op.previous_text and op.operation is not Operation.NOOP:
            text += f" [dim](was: {short(op.previous_text, 80)})[/]"
        table.add_row(
            op.operation.value, op.memory_type.value, f"{text}\n[dim]{escape(op.memory_id)}[/]"
        )
    console.print(table)
    console.print(f"[dim]{result.elapsed_s:.2f}s, extraction: {result.extraction}[/]")


@store_command(app)
def ingest(
    opts: StoreOptions,
    path: Annotated[Path, typer.Argument(help="a file or folder: notes, PDFs, images, mail")],
    user: UserOption = None,
    agent: AgentOption = None,
) -> None:
    """Store the images, PDFs, Markdown/text files, mail and Slack exports under PATH.

    Incremental: unchanged files are not read again, a changed file's new version
    supersedes the old one (history keeps both), the memories of files gone from the
    folder are deleted. A file that cannot be read is skipped with the reason; what the
    PDF and image libraries warn about is summed up in one line (--json lists it)."""
    with opts.open(embeds=True) as orch, progress_bar(opts.as_json, "ingesting") as progress:
        report = orch.ingest(path, user_id=user, agent_id=agent, progress=progress)
    if opts.emitted(report.as_dict()):
        return
    counts = ", ".join(f"{n} {what}" for what, n in report.counts().items())
    console.print(f"{escape(printable(report.root))}: {counts}; {report.memories} memories written")
    # a reason may name another file of the folder, or a link (`same content as ...`)
    for rel, reason in report.skipped:
        err_console.print(f"skipped {escape(printable(rel))}: {escape(printable(reason))}")
    for rel, reason in report.kept:
        err_console.print(f"kept {escape(printable(rel))} (gone): {escape(printable(reason))}")
    if line := report.warnings_line():
        err_console.print(f"{escape(line)} (--json lists them)")


@store_command(app)
def search(
    opts: StoreOptions,
    query: Annotated[str, typer.Argument(help="what to look for, in natural language")],
    user: UserOption = None,
    agent: AgentOption = None,
    session: SessionOption = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1)] = None,
    types: TypesOption = None,
    filters: FilterOption = None,
    include_superseded: SupersededOption = False,
) -> None:
    """Hybrid recall (vector, keyword, graph; fused) through every agent."""
    where = parse_filters(filters)
    with opts.open(embeds=True) as orch:
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
    if opts.emitted(result.model_dump(mode="json")):
        return
    table = Table(title=f"recall: {escape(query)}", title_justify="left", expand=True)
    for column in ("#", "type", "memory", "score", "found by"):
        table.add_column(column, no_wrap=column in ("#", "type", "score"))
    for rank, hit in enumerate(result.hits, 1):
        table.add_row(
            str(rank),
            hit.memory_type.value,
            f"{short(hit.memory.content)}\n[dim]{escape(hit.memory.id)}[/]",
            f"{hit.score:.4f}",
            ", ".join(sorted({p.retriever for p in hit.provenance})),
        )
    console.print(table)
    for block in result.core:
        console.print(f"[bold]core/{escape(block.label)}[/]: {short(block.content, 300)}")


@store_command(app)
def get(
    opts: StoreOptions,
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    user: OwnerUserOption = None,
    agent: OwnerAgentOption = None,
) -> None:
    """Show one memory (current or superseded)."""
    with opts.open() as orch:
        memory = orch.get(memory_id, user_id=user, agent_id=agent)
    if opts.emitted(memory.model_dump(mode="json")):
        return
    table = Table(show_header=False, title=escape(memory.id), title_justify="left")
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value")
    for key, value in memory.model_dump(mode="json").items():
        if value not in (None, "", [], {}):
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            table.add_row(key, escape(shown))
    console.print(table)


@store_command(app, "list")
def list_memories(
    opts: StoreOptions,
    user: UserOption = None,
    agent: AgentOption = None,
    session: SessionOption = None,
    types: TypesOption = None,
    filters: FilterOption = None,
    include_superseded: SupersededOption = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1)] = None,
) -> None:
    """List the memories in a scope, oldest first."""
    where = parse_filters(filters)
    with opts.open() as orch:
        memories = orch.get_all(
            user_id=user,
            agent_id=agent,
            session_id=session,
            memory_types=types or None,
            filters=where,
            include_superseded=include_superseded,
            limit=limit,
        )
    if opts.emitted([memory.model_dump(mode="json") for memory in memories]):
        return
    table = Table(title=f"{len(memories)} memories", title_justify="left", expand=True)
    for column in ("type", "memory", "status", "updated"):
        table.add_column(column, no_wrap=column != "memory")
    for memory in memories:
        table.add_row(
            memory.memory_type.value,
            f"{short(memory.content)}\n[dim]{escape(memory.id)}[/]",
            "current" if memory.is_current else "superseded",
            memory.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@store_command(app)
def history(
    opts: StoreOptions,
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    user: OwnerUserOption = None,
    agent: OwnerAgentOption = None,
) -> None:
    """Every change of one memory, oldest first."""
    with opts.open() as orch:
        events = orch.history(memory_id, user_id=user, agent_id=agent)
    if opts.emitted([event.model_dump(mode="json", exclude={"record"}) for event in events]):
        return
    table = Table(title=f"history of {escape(memory_id)}", title_justify="left", expand=True)
    for column in ("at", "operation", "old", "new", "actor"):
        table.add_column(column, no_wrap=column in ("at", "operation", "actor"))
    for event in events:
        table.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.operation.value,
            short(event.old_value or "", 80),
            short(event.new_value or "", 80),
            escape(event.actor),  # an import's file may hold any text here
        )
    console.print(table)


@store_command(app)
def update(
    opts: StoreOptions,
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    text: Annotated[str, typer.Argument(help="the new text")],
    user: OwnerUserOption = None,
    agent: OwnerAgentOption = None,
) -> None:
    """Rewrite a memory's text; its history keeps the old text."""
    with opts.open() as orch:
        memory = orch.update(memory_id, text, user_id=user, agent_id=agent)
    if opts.emitted(memory.model_dump(mode="json")):
        return
    console.print(f"updated {escape(memory.id)} (version {memory.version})")


@store_command(app)
def delete(
    opts: StoreOptions,
    memory_id: Annotated[str, typer.Argument(metavar="ID", help="memory id")],
    user: OwnerUserOption = None,
    agent: OwnerAgentOption = None,
) -> None:
    """Delete a memory from every store; its history stays readable."""
    with opts.open() as orch:
        orch.delete(memory_id, user_id=user, agent_id=agent)
    if opts.emitted({"id": memory_id, "deleted": True}):
        return
    console.print(f"deleted {escape(memory_id)}")


@store_command(app)
def forget(
    opts: StoreOptions,
    user: Annotated[str | None, typer.Option("--user", "-u", help="the user to forget")] = None,
    agent: AgentOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="confirm: this cannot be undone, history included")
    ] = False,
) -> None:
    """Remove every trace of a user (or of one --agent of the user) from every store,
    history included. Unlike `delete`, nothing is kept. Needs --yes."""
    if not user:
        raise typer.BadParameter("forget needs --user ID", param_hint="--user")
    if not yes:
        scope = f"user {user!r}" + (f", agent {agent!r}" if agent else "")
        print(
            f"error: forget removes every memory and all history of {scope} and cannot be "
            "undone; run it again with --yes to confirm",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    with opts.open() as orch:
        report = orch.forget(user_id=user, agent_id=agent)
    if opts.emitted({**report.model_dump(mode="json"), "total_memories": report.total_memories}):
        return
    per_type = ", ".join(f"{t.value} {n}" for t, n in report.memories.items()) or "none"
    console.print(
        f"forgot {escape(printable(user))}{' / ' + escape(printable(agent)) if agent else ''}: "
        f"{report.total_memories} memories ({per_type}), {report.history_events} history "
        f"events, {report.keyword_entries} keyword entries, graph: {report.graph_memories} "
        f"memory nodes, {report.graph_relations} relations, {report.graph_entities} entities; "
        f"files rewritten: {', '.join(report.files_rewritten) or 'none'}"
    )


@store_command(app, "export")
def export_cmd(
    opts: StoreOptions,
    path: Annotated[Path, typer.Argument(help="the JSONL file to write")],
    user: UserOption = None,
) -> None:
    """Write every memory (all users, or --user) with its history and the graph to JSONL."""
    with opts.open() as orch, progress_bar(opts.as_json, "exporting") as progress:
        summary = orch.export_jsonl(path, user_id=user, progress=progress)
    if opts.emitted({"path": str(path), **summary.model_dump()}):
        return
    console.print(
        f"exported {summary.memories} memories ({summary.deleted_memories} deleted with "
        f"history), {summary.history_events} history events, {summary.entities} entities, "
        f"{summary.relations} relations to {escape(str(path))}"
    )


@store_command(app, "import")
def import_cmd(
    opts: StoreOptions,
    path: Annotated[Path, typer.Argument(help="a JSONL file written by `octomem export`")],
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="import the valid lines, list the rest and exit with 3"
        ),
    ] = False,
) -> None:
    """Restore an export exactly (same ids, validity and history), without extraction.

    Every line is checked first: if one cannot be stored, or would reach another user's
    data, nothing is imported and the lines are listed (unless --skip-invalid)."""
    with opts.open(embeds=True) as orch, progress_bar(opts.as_json, "importing") as progress:
        summary = orch.import_jsonl(path, progress=progress, skip_invalid=skip_invalid)
    if not opts.emitted({"path": str(path), **summary.model_dump()}):
        console.print(
            f"imported {summary.memories} memories, {summary.history_events} history events, "
            f"{summary.entities} entities, {summary.relations} relations"
        )
        for rejected in summary.rejected:
            err_console.print(  # the kind and id are the file's text: no markup
                f"rejected line {rejected.line} ({escape(_one_line(rejected.kind))} "
                f"{escape(_one_line(rejected.id or ''))}): {escape(_one_line(rejected.reason))}"
            )
        if summary.rejected_count:
            err_console.print(f"{summary.rejected_count} lines rejected; nothing of them stored")
    if summary.rejected_count:
        raise typer.Exit(3)


@store_command(app)
def stats(
    opts: StoreOptions,
    user: UserOption = None,
) -> None:
    """Counts per agent (memory type) and store."""
    with opts.open() as orch:
        counts = orch.stats(user_id=user)
    if opts.emitted(counts.model_dump(mode="json")):
        return
    scope = f"user {user}" if user else f"{counts.users} users"
    table = Table(title=f"octomem stats ({escape(scope)})", title_justify="left")
    for column in ("agent", "current", "superseded", "history events"):
        table.add_column(column, justify="left" if column == "agent" else "right")
    for name, row in counts.memories.items():
        table.add_row(name, str(row.current), str(row.superseded), str(counts.history_events[name]))
    totals = counts.totals
    table.add_row(
        "[bold]total[/]",
        str(totals.current),
        str(totals.memories - totals.current),
        str(totals.history_events),
    )
    console.print(table)
    graph = counts.graph
    console.print(f"graph: {graph.relations} relations ({graph.invalid_relations} invalidated)")


@store_command(app)
def doctor(
    opts: StoreOptions,
    repair: Annotated[
        bool, typer.Option("--repair", help="complete interrupted writes and fix every store")
    ] = False,
) -> None:
    """Check that the keyword index, graph and history agree with the canonical store.

    Exit code 0 when they agree (after the repair, with --repair), 3 when differences
    are left."""
    with opts.open() as orch:
        report = orch.check(repair=repair)
    if not opts.emitted({**report.model_dump(mode="json"), "consistent": report.consistent}):
        table = Table(
            title=f"octomem doctor: {report.records} memories in the canonical store",
            title_justify="left",
        )
        for column in ("store", "missing", "extra", "stale"):
            table.add_column(column, justify="left" if column == "store" else "right")
        for store in report.stores:
            table.add_row(
                store.store, str(len(store.missing)), str(len(store.extra)), str(len(store.stale))
            )
        console.print(table)
        if report.completed_writes:
            console.print(f"completed {report.completed_writes} interrupted writes")
        if report.repaired:
            console.print(f"repaired: {report.remaining} differences left")
        if report.pending_writes:
            console.print(f"{report.pending_writes} writes in progress (another process?)")
        if ids := report.bidi_ids:
            shown = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
            console.print(
                f"{len(ids)} ids stored with a bidi control (readable and erasable, no new "
                f"memories under them): {escape(shown)}"
            )
        verdict = "consistent" if report.consistent else "INCONSISTENT"
        hint = "" if report.consistent or repair else " - run `octomem doctor --repair`"
        console.print(f"[bold]{verdict}[/]{hint}")
    if not report.consistent:
        raise typer.Exit(3)


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
        str | None,
        typer.Option(
            "--user",
            "-u",
            help="serve this user_id only: tool calls cannot name or reach another user",
        ),
    ] = None,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="http: serve without an API key (else OCTOMEM_MCP_API_KEY is required)",
        ),
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    project: ProjectOption = None,
) -> None:
    """Serve octomem's tools over MCP (stdio, or streamable HTTP at http://HOST:PORT/mcp).

    Over HTTP clients must send 'Authorization: Bearer <key>' with the key in
    OCTOMEM_MCP_API_KEY."""
    from octomem.mcp_server import serve
    from octomem.settings import mcp_api_key

    serve(
        transport="http" if transport is Transport.http else "stdio",
        host=host,
        port=port,
        config=config,
        data_dir=data_dir,
        project=project,
        user_id=user,
        api_key=mcp_api_key(),
        insecure_no_auth=insecure_no_auth,
    )


def _one_line(text: str) -> str:
    """An error as printed: one line, masked (it may quote an argument, a file's line)."""
    from octomem.sensitive import mask_text

    return mask_text(" ".join(str(text).split()))


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage errors: typer >= 0.20 raises those of its own vendored click."""
    errors: list[type[Exception]] = [click.ClickException]
    try:
        from typer.exceptions import TyperException

        errors.append(TyperException)
    except ImportError:  # older typer: plain click
        pass
    return tuple(errors)


def run() -> None:
    """Console entry point with the exit codes: 0 ok, 1 user error, 2 internal error.

    Errors are one line on stderr; results go to stdout.
    """
    # what is left at exit is freed with the process: the interpreter's last collections
    # need not walk it (a tenth to a fifth of a second after a search)
    atexit.unregister(gc.freeze)  # once, however often `run` is called in one process
    atexit.register(gc.freeze)
    _gc.settle()  # the command line's imports are done
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
    except ScopeRequiredError:  # said in the command line's words, not the API's
        print("error: give --user (or --agent): memories are always someone's", file=sys.stderr)
        sys.exit(1)
    except OctomemError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        sys.exit(1)
    except (click.Abort, typer.Abort, KeyboardInterrupt):
        sys.exit(1)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        print(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
