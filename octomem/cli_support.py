"""Shared pieces of the `octomem` command line: options, output, input."""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TimeElapsedColumn,
)

from octomem import _gc
from octomem.errors import InvalidInputError
from octomem.validation import parse_json, printable

if TYPE_CHECKING:
    from octomem.orchestrator.engine import Orchestrator

console = Console()
err_console = Console(stderr=True)
_LOADING = "loading the embedder and stores..."

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="overrides data_dir")]
ProjectOption = Annotated[
    str | None,
    typer.Option("--project", help="the project whose memories to use (overrides project)"),
]

UserOption = Annotated[str | None, typer.Option("--user", "-u", help="user_id scope")]
AgentOption = Annotated[str | None, typer.Option("--agent", help="agent_id scope")]
# by-id commands: with --user / --agent, an id outside that scope is unknown (exit 1)
OwnerUserOption = Annotated[
    str | None, typer.Option("--user", "-u", help="only a memory of this user_id")
]
OwnerAgentOption = Annotated[
    str | None, typer.Option("--agent", help="only a memory of this agent_id")
]
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


@dataclass(frozen=True)
class StoreOptions:
    """The options a command on the memories ends with (`store_command`): the stores
    that --config, --data-dir and --project name, and whether --json asks for JSON."""

    config: ConfigOption = None
    data_dir: DataDirOption = None
    project: ProjectOption = None
    as_json: JsonOption = False

    @contextmanager
    def open(self, *, embeds: bool = False) -> Iterator[Orchestrator]:
        """The configured Orchestrator, open, quiet under --json. `embeds`: the command
        embeds text, so the model loads in a thread of its own while the stores open (on
        two cores, about the time the model takes to load is saved). No garbage collection
        while it imports and opens: what the imports and the stores' clients allocate lives
        as long as the command, and each collection would only walk it again
        (`octomem._gc`)."""
        overrides: dict[str, Any] = {} if self.project is None else {"project": self.project}
        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        with ExitStack() as stack:
            with (
                _gc.paused(),
                nullcontext() if self.as_json else err_console.status(_LOADING),
            ):
                from octomem.embeddings import load_early
                from octomem.orchestrator.engine import Orchestrator
                from octomem.orchestrator.lifecycle import build_embedder
                from octomem.settings import load_settings

                settings = load_settings(self.config, **overrides)
                embedder = build_embedder(settings)
                if embeds:
                    load_early(embedder)
                orch = stack.enter_context(Orchestrator(settings, embedder=embedder))
                _gc.settle()  # frozen before collection is back on, else its first pass walks it
            yield orch

    def emitted(self, payload: Any) -> bool:
        """Under --json, `payload` printed as the command's answer (JSON on stdout, one
        document, for scripts) and True: the command then prints no tables or lines for
        people."""
        if self.as_json:
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
        return self.as_json


def store_command(
    app: typer.Typer, name: str | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Registers `body(opts, ...)` as a command of `app`: typer reads the body's own
    parameters and then `StoreOptions`' (--config, --data-dir, --project, --json), which
    the body is given together as `opts`."""

    def register(body: Callable[..., None]) -> Callable[..., None]:
        common = inspect.signature(StoreOptions, eval_str=True).parameters
        own = list(inspect.signature(body, eval_str=True).parameters.values())[1:]
        parameters = [*own, *common.values()]

        @functools.wraps(body)
        def command(**kwargs: Any) -> None:
            body(StoreOptions(**{key: kwargs.pop(key) for key in common}), **kwargs)

        command.__annotations__ = {p.name: p.annotation for p in parameters}
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        return app.command(name)(command)

    return register


def parse_filters(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = parse_json(raw, "--filter")
    if not isinstance(value, dict):
        raise InvalidInputError('--filter must be a JSON object, e.g. {"source": "chat"}')
    return value


def short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return escape(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def read_messages(source: str) -> Any:
    """A conversation from a file or stdin: JSON (a list of messages, one message, or an
    object with "messages") or plain text (one user message): text that does not start
    like a JSON list, object or string, or does not parse - except in a ``.json`` file,
    which must be JSON (a truncated export is an error, not one message)."""
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"no file at {path}; pass a JSON or text file, or - for stdin")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"{path} is not UTF-8 text (invalid byte at position {exc.start}); "
                "save the conversation as UTF-8"
            ) from exc
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not text.strip():
        raise InvalidInputError("the conversation is empty")
    if text.lstrip()[:1] not in ("[", "{", '"'):
        return text.strip()
    try:
        data = parse_json(text, "the conversation")
    except InvalidInputError as exc:
        if not isinstance(cause := exc.__cause__, json.JSONDecodeError):
            raise  # JSON, but nested too deep or holding an integer too long
        if source.lower().endswith(".json"):
            raise InvalidInputError(
                f"{source} is not valid JSON ({cause.msg} at line {cause.lineno} column "
                f"{cause.colno}); fix it, or give plain text a name not ending in .json"
            ) from exc
        return text.strip()
    if isinstance(data, dict) and "messages" in data:
        return data["messages"]
    return data


class Update(Protocol):
    """A progress callback of either form (`octomem.orchestrator.ingest_report.Progress`)."""

    def __call__(self, done: int, total: int, name: str | None = None) -> None: ...


@contextmanager
def progress_bar(quiet: bool, description: str) -> Iterator[Update | None]:
    """A progress callback drawing a bar on stderr, with the item at hand when it is
    given one (`update(done, total, name)`); None when `quiet` (--json)."""
    if quiet:
        yield None
        return
    if not err_console.is_terminal:
        yield _progress_lines(description)
        return
    columns = (SpinnerColumn(), *Progress.get_default_columns()[:-1], MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int, name: str | None = None) -> None:
            shown = description if name is None else f"{description} {escape(_tail(_masked(name)))}"
            bar.update(task, completed=done, total=total, description=shown)

        yield update


def _progress_lines(description: str) -> Update:
    """Progress for a log or a pipe, where a bar draws nothing: a line for each new item
    named, otherwise a line at each tenth of the total."""
    named: list[str] = []  # the last item named
    tenths: list[int] = [-1]  # the last tenth shown

    def update(done: int, total: int, name: str | None = None) -> None:
        tenth = done * 10 // total if total else -1
        if name is not None and named[-1:] != [name]:
            named[:] = [name]
            shown = escape(_masked(name))
            err_console.print(f"{description} {done + 1}/{total} {shown}", highlight=False)
        elif name is None and tenth > tenths[0]:
            tenths[0] = tenth
            err_console.print(f"{description} {done}/{total}", highlight=False)

    return update


def _masked(name: str) -> str:
    """An item's name as shown: a file's name may hold a secret (masked in what is stored)."""
    from octomem.sensitive import mask_text

    return printable(mask_text(name))


def _tail(name: str, width: int = 40) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]
