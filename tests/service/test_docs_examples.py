"""Every shell example of docs/service.md that calls the service runs, in order, against a
real `octomem serve`, with `OM` (its URL) and `KEY` (an admin key) set as the docs say."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.service_support import Service

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def examples() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), flags=re.S)
    return [b for b in blocks if '"$OM' in b]


def test_the_docs_have_examples() -> None:
    assert len(examples()) >= 4


def test_every_curl_example_runs(tmp_path: Path) -> None:
    with Service.start(tmp_path) as svc:
        key = svc.key(scopes="read,write,delete,admin")
        env = {**os.environ, "OM": svc.url, "KEY": key}
        for block in examples():
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode != 0:
                pytest.fail(
                    f"example failed:\n{block}\nstdout: {done.stdout}\nstderr: {done.stderr}"
                )
