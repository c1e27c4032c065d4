"""A second process on an embedded data directory another process has open is refused
before it opens Chroma's files: Chroma's embedded engine is one process's at a time, and an
engine opened beside a writing one may apply or rewrite what the writer is writing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import chromadb
import pytest

from octomem import Orchestrator
from octomem.errors import StoreError
from octomem.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
HOLDER = (
    "import sys; from octomem import Orchestrator; from octomem.settings import load_settings\n"
    "orch = Orchestrator(load_settings(data_dir=sys.argv[1]))\n"
    "orch.process('I live in Paris.', user_id='u')\n"
    "print('ready', flush=True); sys.stdin.read(); orch.close()\n"
)


def test_a_second_process_is_refused_before_it_opens_chroma(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    opened: list[str] = []
    real = chromadb.PersistentClient

    def recorded(*args: object, **kwargs: object) -> object:
        opened.append(str(kwargs.get("path", args[0] if args else "")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chromadb, "PersistentClient", recorded)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        orch = Orchestrator(load_settings(data_dir=tmp_path))
        with pytest.raises(StoreError, match="locked by another process"):
            orch.process("I moved to Kyoto.", user_id="u")
        orch.close()
        assert opened == []
    finally:
        holder.communicate("", timeout=60)
    with Orchestrator(load_settings(data_dir=tmp_path)) as orch:  # the holder's write stands
        assert [r.content for r in orch.get_all(user_id="u", memory_types=["semantic"])] == [
            "The user lives in Paris."
        ]
