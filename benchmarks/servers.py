"""Servers a benchmark or a test starts itself on 127.0.0.1: a free port, a subprocess that
is ready or fails with its log's tail, and a stop by process id (its children too) however
the caller ends, Ctrl-C included.

- `chroma_server(workdir)`: `chroma run`, its data under `workdir/data`;
- `arcadedb_server(workdir)`: ArcadeDB with its Bolt plugin (`arcadedb_server.py` in a
  subprocess of its own; needs the `arcadedb-embedded` package), one database, `neo4j`.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octomem.errors import ConfigurationError, StoreUnavailableError

CHROMA_STARTUP_S = 60.0
ARCADEDB_STARTUP_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def executable(name: str) -> str | None:
    """A console script installed next to this interpreter, else on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def answers(url: str) -> bool:
    """Whether GET url returns 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux); None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[tuple[int, str]]:
    """The processes below `pid` (children, theirs, ...) as (pid, start time) (Linux /proc;
    none elsewhere). The start time tells a process from a later one with its pid."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def stop(proc: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """SIGTERM `proc` (then SIGKILL), and then every process it had started that is still
    there, each by its pid."""
    below = descendants(proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [(pid, start) for pid, start in below if (_stat(pid) or [""] * 20)[19] == start]
        for pid, _ in left:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while left and time.monotonic() < deadline:
            left = [(p, s) for p, s in left if (_stat(p) or [""] * 20)[19] == s]
            time.sleep(0.1)


@contextmanager
def running(
    cmd: Sequence[str],
    *,
    log_path: Path,
    ready: Callable[[], bool],
    timeout_s: float,
    what: str,
    stop_s: float = 30,
    **popen: Any,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `cmd`, wait until `ready()` (StoreUnavailableError with the log's tail if the
    process dies or the time runs out), yield it, and stop it however the caller ends
    (killed if it has not ended `stop_s` after SIGTERM)."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, **popen)
        try:
            deadline = time.monotonic() + timeout_s
            while not ready():
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = log_path.read_text(errors="replace")[-3000:]
                    raise StoreUnavailableError(f"{what} did not come up:\n{tail}")
                time.sleep(0.25)
            yield proc
        finally:
            stop(proc, stop_s)


@dataclass(frozen=True)
class ChromaServer:
    url: str
    pid: int | None = None
    data_dir: Path | None = None

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)


@dataclass(frozen=True)
class BoltServer:
    """A Bolt + Cypher server for the Neo4j backend: what `Neo4jGraphStore` needs (and, when
    started here, its process and its database's directory)."""

    uri: str
    user: str
    password: str
    database: str | None
    pid: int | None = None
    database_dir: Path | None = None


@contextmanager
def chroma_server(workdir: Path, timeout_s: float = CHROMA_STARTUP_S) -> Iterator[ChromaServer]:
    """`chroma run` on a free loopback port, data in `workdir/data`."""
    chroma = executable("chroma")
    if chroma is None:
        raise ConfigurationError("no `chroma` executable next to the Python interpreter or on PATH")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [chroma, "run", "--path", str(workdir / "data"), "--host", "127.0.0.1"]
    with running(
        [*cmd, "--port", str(port)],
        log_path=workdir / "server.log",
        ready=lambda: answers(f"{url}/api/v2/heartbeat"),
        timeout_s=timeout_s,
        what=f"`chroma run` on {url} (log in {workdir})",
    ) as proc:
        yield ChromaServer(url, proc.pid, workdir / "data")


@contextmanager
def arcadedb_server(workdir: Path, timeout_s: float = ARCADEDB_STARTUP_S) -> Iterator[BoltServer]:
    """ArcadeDB with its Bolt plugin on free loopback ports, in a subprocess of its own
    (`arcadedb_server.py`; its root password in its environment, not on its command line)."""
    if importlib.util.find_spec("arcadedb_embedded") is None:
        raise ConfigurationError(
            "the ArcadeDB Bolt server needs the arcadedb-embedded package: "
            "pip install 'octomem[bench]' (or arcadedb-embedded)"
        )
    bolt_port = free_port()
    http_port = free_port()
    while http_port == bolt_port:
        http_port = free_port()
    password = secrets.token_hex(16)
    ready_file = workdir / "ready"
    launcher = Path(__file__).with_name("arcadedb_server.py")
    cmd = [sys.executable, str(launcher), str(workdir / "root"), str(bolt_port), str(http_port)]
    with running(
        [*cmd, str(ready_file)],
        log_path=workdir / "server.log",
        ready=ready_file.exists,
        timeout_s=timeout_s,
        what=f"the ArcadeDB Bolt server on 127.0.0.1:{bolt_port} (log in {workdir})",
        cwd=workdir,
        env={**os.environ, "ARCADEDB_TEST_ROOT_PASSWORD": password},
    ) as proc:
        yield BoltServer(
            f"bolt://127.0.0.1:{bolt_port}",
            "root",
            password,
            "neo4j",
            proc.pid,
            workdir / "root" / "databases" / "neo4j",
        )
