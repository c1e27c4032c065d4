"""A real `octomem serve` process for the service tests: a free port on 127.0.0.1, a data
directory of the test's own, keys made with the real `octomem keys create`, stopped by
its process id however the test ends.

    with Service.start(tmp_path) as svc:
        key = svc.key(project="a", scopes="read,write")
        httpx.get(svc.url + "/v1/records", headers=svc.auth(key), params={"user_id": "u"})

Settings go in as OCTOMEM_* variables: `Service.start(tmp, env={"OCTOMEM_SERVICE__
RATE_LIMIT_PER_MINUTE": "5"})`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import answers, free_port, running


def octomem(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run the `octomem` command line; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "octomem", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"octomem {' '.join(args)} failed: {done.stderr}")
    return done.stdout


@dataclass
class Service:
    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)
    config: Path | None = None  # the `--config` of `serve`, given to `keys` too

    @classmethod
    @contextmanager
    def start(
        cls,
        tmp: Path,
        *,
        env: dict[str, str] | None = None,
        config: Path | None = None,
        workers: int = 1,
        timeout_s: float = 120,
        args: tuple[str, ...] = (),
    ) -> Iterator[Service]:
        data_dir = tmp / "om-data"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        extra = {"OCTOMEM_DATA_DIR": str(data_dir), **(env or {})}
        cmd = [sys.executable, "-m", "octomem", "serve", "--port", str(port)]
        cmd += ["--workers", str(workers)]
        if config is not None:
            cmd += ["--config", str(config)]
        cmd += args
        with running(
            cmd,
            log_path=tmp / f"serve-{port}.log",
            ready=lambda: answers(url + "/readyz"),
            timeout_s=timeout_s,
            what="octomem serve",
            env={**os.environ, **extra},
        ) as proc:
            yield cls(url, data_dir, proc, extra, config)

    def key(
        self,
        project: str = "default",
        scopes: str = "read,write,delete",
        user: str | None = None,
        **options: str,
    ) -> str:
        """A new API key of `project` (options: rate_limit="5", expires="1h", ...)."""
        args = ["keys", "create", "--project", project, "--scope", scopes, "--json"]
        if self.config is not None:
            args += ["--config", str(self.config)]
        if user is not None:
            args += ["--user", user]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", value]
        created = json.loads(octomem(*args, env=self.env))
        return str(created["key"])

    def key_id(self, key: str) -> str:
        return key.split("_")[1]

    @staticmethod
    def auth(key: str, scheme: str = "Token") -> dict[str, str]:
        return {"Authorization": f"{scheme} {key}"}

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def log(self) -> str:
        logs = sorted(self.data_dir.parent.glob("serve-*.log"))
        return logs[-1].read_text(errors="replace") if logs else ""

    def audit_lines(
        self, which: Callable[[dict[str, Any]], bool] = lambda line: True, count: int = 0
    ) -> list[dict[str, Any]]:
        """The audit lines `which` selects, waiting up to 10 s until there are `count`
        (a line is written just after its response is sent)."""
        path = self.data_dir / "service" / "audit.log"
        deadline = time.monotonic() + 10
        while True:
            lines = []
            if path.exists():
                lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            chosen = [line for line in lines if which(line)]
            if len(chosen) >= count or time.monotonic() > deadline:
                return chosen
            time.sleep(0.05)
