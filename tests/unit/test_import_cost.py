"""`import octomem` stays light: the LangGraph and LangChain machinery is imported where a
graph is compiled (opening an Orchestrator) or where the caller already has it, not with
the package (the cold-start goal of `import octomem` under a second). LangChain messages
are still taken: tests/unit/test_messages.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

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


def test_every_public_name_is_there_when_first_used() -> None:
    probe = (
        "import octomem\n"
        "names = {n: getattr(octomem, n) for n in octomem.__all__}\n"
        "from octomem import *\n"
        "assert all(globals()[n] is v for n, v in names.items())\n"
        "assert octomem.Orchestrator.__module__ == 'octomem.orchestrator.engine'\n"
        "assert set(octomem.__all__) <= set(dir(octomem))\n"
        "try:\n"
        "    octomem.Orchestator\n"
        "except AttributeError as exc:\n"
        "    assert 'Orchestator' in str(exc)\n"
        "else:\n"
        "    raise SystemExit('a misspelt name resolved')\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)


def test_the_command_line_imports_what_a_command_needs(tmp_path: Path) -> None:
    """`octomem --help` opens no store; `octomem search` loads no secret detector (it
    masks nothing) and no document reader, and ends with collection on and the command's
    long-lived objects kept out of it (`octomem._gc`)."""
    probe = (
        "import gc, json, sys\n"
        "from octomem.__main__ import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'collecting': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count()}))\n"
    )

    def run(*argv: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
            cwd=tmp_path,
        ).stdout
        return cast(dict[str, Any], json.loads(out.strip().splitlines()[-1]))

    shown = run("--help")
    assert not {"chromadb", "octomem.orchestrator.engine"} & set(shown["modules"])
    assert shown["collecting"]
    found = run("search", "where do I live?", "-u", "ana", "--data-dir", str(tmp_path / "om"))
    loaded = {m for m in found["modules"] if m.startswith(("octomem.", "stdnum"))}
    assert "octomem.orchestrator.engine" in loaded  # it did search
    assert not loaded & {
        "octomem.sensitive.cues",
        "octomem.sensitive.keys",
        "octomem.sensitive.numbers",
        "stdnum",
        "octomem.orchestrator.ingest",
    }
    assert found["collecting"] and found["frozen"] > 0
