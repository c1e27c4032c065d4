"""`octomem serve` and `octomem keys`: the HTTP service and its API keys."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.table import Table

from octomem.cli_support import ConfigOption, DataDirOption, JsonOption, console
from octomem.errors import InvalidInputError
from octomem.settings import load_settings

if TYPE_CHECKING:
    from octomem.service.keys import Keys

T = TypeVar("T")
keys_app = typer.Typer(help="API keys of the HTTP service.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8420,
    workers: Annotated[
        int, typer.Option(help="worker processes (more than 1 needs server stores)", min=1)
    ] = 1,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    access_log: Annotated[
        bool,
        typer.Option(help="uvicorn's line per request on stderr (paths with query strings)"),
    ] = True,
) -> None:
    """Serve octomem over HTTP: mem0-compatible routes, /v1, MCP at /mcp, docs at /docs,
    the memory inspector at /ui.

    Every request needs an API key (`octomem keys create`)."""
    from octomem.service.server import serve as run

    run(
        host=host,
        port=port,
        config=config,
        data_dir=data_dir,
        workers=workers,
        access_log=access_log,
    )


def ui(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1", min=1, max=65535)] = 8421,
    project: Annotated[str, typer.Option(help="the project to inspect")] = "default",
    read_only: Annotated[
        bool, typer.Option("--read-only", help="a key that can look, not change")
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="pin the key to this user_id")
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The memory inspector alone, on 127.0.0.1 (docs/ui.md).

    Creates a key for this run (12 hours at most), prints it once, and revokes it when
    the command stops: paste it into the sign-in page."""
    from octomem.service.server import serve as run

    scopes = ["read"] if read_only else ["read", "write", "delete"]
    row, key = _with_keys(
        config,
        data_dir,
        lambda keys: keys.create(
            project=project,
            scopes=scopes,
            user_id=user,
            expires_at=datetime.now(UTC) + timedelta(hours=12),
            name="octomem ui (local)",
        ),
    )
    console.print(f"octomem inspector: http://127.0.0.1:{port}/ui/ (project {project})")
    console.print(f"sign in with this key ({', '.join(scopes)}; revoked when this stops):")
    print(key, flush=True)
    # uvicorn raises the signal that stopped it again once it has shut down: a SIGTERM
    # then ends this command by SystemExit (as Ctrl-C does by KeyboardInterrupt), so the
    # key is revoked either way
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        run(host="127.0.0.1", port=port, config=config, data_dir=data_dir, access_log=False)
    finally:
        _with_keys(config, data_dir, lambda keys: keys.revoke(row.id))


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _with_keys(
    config: Path | None, data_dir: Path | None, action: Callable[[Keys], Awaitable[T]]
) -> T:
    """Run `action` on the service's key store (the data directory's, or in server mode
    the deployment's on the graph server), then close it."""
    from octomem.service.key_stores import open_keys

    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    store = open_keys(load_settings(config, **overrides))

    async def run() -> T:
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _expiry(value: str | None) -> datetime | None:
    """`30d`, `12h`, `90m` from now, or an ISO-8601 time."""
    if value is None:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if value[:-1].isdigit() and value[-1:] in units:
        try:
            return datetime.now(UTC) + timedelta(**{units[value[-1]]: int(value[:-1])})
        except OverflowError:  # past the year 9999
            raise InvalidInputError(f"--expires {value} is too far away") from None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"--expires must be like 30d, 12h, 90m or an ISO-8601 time; got {value!r}"
        ) from None


@keys_app.command("create")
def create(
    project: Annotated[str, typer.Option(help="the project the key reaches")] = "default",
    scope: Annotated[
        str, typer.Option(help="comma-separated: read, write, delete, admin")
    ] = "read,write,delete",
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="pin the key to this user_id")
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option(help="requests per minute (default: the server's)", min=1)
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="30d, 12h, 90m or an ISO-8601 time (default: never)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="a label for `keys list`")] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it. It is shown this once: only its hash is kept."""
    row, key = _with_keys(
        config,
        data_dir,
        lambda keys: keys.create(
            project=project,
            scopes=scope.split(","),
            user_id=user,
            rate_limit=rate_limit,
            expires_at=_expiry(expires),
            name=name,
        ),
    )
    if as_json:
        print(json.dumps({**row.view(), "key": key}))
        return
    console.print(f"created key {row.id} for project {row.project} ({', '.join(row.scopes)})")
    console.print("the key (shown once; send it as 'Authorization: Token <key>'):")
    print(key)


@keys_app.command("list")
def list_keys(
    project: Annotated[str | None, typer.Option(help="only this project's keys")] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The keys (never their secrets): id, project, scopes, user, status."""
    rows = _with_keys(config, data_dir, lambda keys: keys.list(project))
    if as_json:
        print(json.dumps([row.view() for row in rows]))
        return
    table = Table("id", "project", "scopes", "user", "rate/min", "expires", "status", "name")
    shown = ("id", "project", "scopes", "user_id", "rate_limit", "expires_at", "status", "name")
    for row in rows:
        view = {**row.view(), "scopes": ",".join(row.scopes)}
        table.add_row(*(str(view[key] or "") for key in shown))
    console.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="the key's id (keys list)")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: its next request (and its tokens') gets 401."""
    row = _with_keys(config, data_dir, lambda keys: keys.revoke(key_id))
    if as_json:
        print(json.dumps(row.view()))
        return
    console.print(f"revoked key {row.id}")
