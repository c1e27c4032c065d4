"""The `octomem` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import click
import structlog
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from octomem.bench.cli import bench_app
from octomem.errors import OctomemError
from octomem.models import Operation

app = typer.Typer(help="octomem: a memory layer for LLM agents.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
console = Console()

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


def run() -> None:
    """Console entry point with the exit codes: 0 ok, 1 user error, 2 internal error."""
    try:
        code = app(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except OctomemError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(1)
    except (click.Abort, KeyboardInterrupt):
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        console.print(f"[red]internal error:[/] {type(exc).__name__}: {exc}")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
