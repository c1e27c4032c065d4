"""A program that recalls and remembers (`octomem search`, `octomem add`, a service
worker) never loads LangGraph: `process` and `recall` run their steps directly, and only
the graphs LangGraph Studio shows (`Orchestrator.process_graph`) import it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from octomem import Orchestrator
with Orchestrator.from_config(data_dir=sys.argv[1]) as orch:
    orch.recall("where does alice live?", user_id="alice")
    recalled = "langgraph" in sys.modules
    orch.process("I live in Paris.", user_id="alice")
    processed = "langgraph" in sys.modules
    orch.process_graph
    print(json.dumps({
        "after_recall": recalled,
        "after_process": processed,
        "after_graph": "langgraph" in sys.modules,
    }))
"""


def test_only_studio_graphs_import_langgraph(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "om")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "after_recall": False,
        "after_process": False,
        "after_graph": True,
    }
