"""A Chroma server for the HTTP-mode contract tests.

Uses the server at OCTOMEM_TEST_CHROMA_URL when set (e.g. http://127.0.0.1:8123); otherwise
starts `chroma run` on a free port for the session and stops it at the end. If no server
can be had, the tests that need it fail with the reason (they are never skipped).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

_STARTUP_S = 60.0


def _chroma_executable() -> str | None:
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def chroma_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("OCTOMEM_TEST_CHROMA_URL"):
        url = url.rstrip("/")
        if not _alive(url):
            pytest.fail(f"OCTOMEM_TEST_CHROMA_URL={url} does not answer /api/v2/heartbeat")
        yield url
        return
    executable = _chroma_executable()
    if executable is None:
        pytest.fail("no `chroma` executable next to the Python interpreter or on PATH")
    workdir = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "server.log").open("wb")
    cmd = [executable, "run", "--path", str(workdir / "data"), "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + _STARTUP_S
        while not _alive(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (workdir / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"`chroma run` did not come up on {url}:\n{tail}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
