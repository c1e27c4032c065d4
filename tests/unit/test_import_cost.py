"""`import octomem` stays light: the LangGraph and LangChain machinery is imported where a
graph is compiled (opening an Orchestrator) or where the caller already has it, not with
the package (the cold-start goal of `import octomem` under a second). LangChain messages
are still taken: tests/unit/test_messages.py."""

from __future__ import annotations

import json
import subprocess
import sys

# detect_secrets brings requests, and its import captures the application's warnings
HEAVY = (
    "langgraph",
    "langchain_core",
    "langsmith",
    "litellm",
    "torch",
    "chromadb",
    "detect_secrets",
)


def _imported_after(code: str) -> list[str]:
    listing = "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    probe = f"{code}\nimport sys, json\n{listing}"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    return [name for name in HEAVY if name in loaded]


def test_import_octomem_loads_no_graph_llm_or_store_machinery() -> None:
    assert _imported_after("import octomem") == []
