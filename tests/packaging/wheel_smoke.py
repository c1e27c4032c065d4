"""Smoke-test an installed octomem (a wheel in a clean virtualenv), from outside the repo.

    python tests/packaging/wheel_smoke.py VENV

Runs, with VENV's own `octomem` and python and a temporary working directory: the import
(neither torch, sentence-transformers nor litellm may be installed: the default install
is offline and torch-free; no benchmark module is shipped), `octomem demo`, and `octomem
serve` with a key: one conversation stored over HTTP and found again, and the inspector's
sign-in page and graph library served. Exits non-zero
with the reason on any failure; stops the server it starts by its process id. Standard
library only: it runs under any Python.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT_S = 300


def run(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}


def check_import(python: str, cwd: Path, env: dict[str, str]) -> None:
    code = (
        "import importlib.util, pathlib, sys, octomem\n"
        "where = pathlib.Path(octomem.__file__)\n"
        "assert where.is_relative_to(sys.prefix), f'{where} is not the installed wheel'\n"
        "extras = ('torch', 'sentence_transformers', 'litellm', 'rapidocr_onnxruntime', 'cv2',\n"
        "          'pypdf', 'PIL', 'onnx')\n"
        "found = [m for m in extras if importlib.util.find_spec(m)]\n"
        "assert not found, f'installed: {found}'\n"
        "shipped = [m for m in ('octomem.bench', 'benchmarks') if importlib.util.find_spec(m)]\n"
        "assert not shipped, f'the wheel ships the benchmarks: {shipped}'\n"
        "print(octomem.__file__)\n"
    )
    where = run(python, "-c", code, cwd=cwd, env=env)
    print(f"import: {where.strip()}")


def check_serve(octomem: str, cwd: Path, env: dict[str, str]) -> None:
    data = cwd / "serve-data"
    key = json.loads(
        run(
            octomem,
            "keys",
            "create",
            "--project",
            "default",
            "--json",
            "--data-dir",
            str(data),
            cwd=cwd,
            env=env,
        )
    )["key"]
    port = free_port()
    log = (cwd / "serve.log").open("w")
    server = subprocess.Popen(
        [octomem, "serve", "--data-dir", str(data), "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while call(f"{base}/readyz")[0] != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"octomem serve did not get ready:\n{(cwd / 'serve.log').read_text()}")
            time.sleep(0.5)
        said = "I moved to Lisbon last spring and I am allergic to peanuts."
        status, _ = call(f"{base}/v1/process", key, {"messages": said, "user_id": "ana"})
        if status != 200:
            sys.exit(f"POST /v1/process answered {status}")
        status, found = call(
            f"{base}/v1/recall", key, {"query": "Where does Ana live?", "user_id": "ana"}
        )
        texts = json.dumps(found)
        if status != 200 or "Lisbon" not in texts:
            sys.exit(f"POST /v1/recall answered {status}: {texts[:500]}")
        print(f"serve: stored and recalled over HTTP on port {port}")
        # the inspector's templates and static files are in the wheel
        for path, want in (("/ui/login", "Sign in"), ("/ui/static/cytoscape.min.js", "cytoscape")):
            with urllib.request.urlopen(base + path, timeout=60) as response:
                if response.status != 200 or want not in response.read().decode():
                    sys.exit(f"GET {path} answered {response.status} without {want!r}")
        print("ui: the sign-in page and the graph library are served")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def main() -> None:
    venv = Path(sys.argv[1]).resolve()
    octomem, python = str(venv / "bin" / "octomem"), str(venv / "bin" / "python")
    with tempfile.TemporaryDirectory(prefix="octomem-wheel-") as tmp:
        cwd = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["XDG_CACHE_HOME"] = str(cwd / "cache")  # nothing cached from other runs
        check_import(python, cwd, env)
        demo = run(octomem, "demo", "--data-dir", str(cwd / "demo-data"), cwd=cwd, env=env)
        print(f"demo: {len(demo.splitlines())} lines")
        check_serve(octomem, cwd, env)


if __name__ == "__main__":
    main()
