"""Every Python block of README.md and docs/*.md runs as written.

A page's blocks run in order in one interpreter, in an empty directory with a home of its
own, as a reader pasting them one after another would run them (a later block may use
what an earlier one made). A page that talks to `octomem serve` gets one, its address in
`OCTOMEM_URL` and a key in `OCTOMEM_API_KEY`, as its text says to set them. A block is
left out only with ``<!-- not run: why -->`` on the line before it (code that needs a
paid API key), and the reason must be given.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.service_support import Service

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NOT_RUN = re.compile(r"<!-- not run: (.*?) -->\n$")
NEEDS_SERVICE = "OCTOMEM_API_KEY"


def blocks(page: Path) -> list[tuple[int, str, str | None]]:
    """(line, code, why it is not run or None) of each Python block of `page`."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()]
        last_line = before[before.rfind("\n", 0, len(before) - 1) + 1 :]
        skipped = NOT_RUN.search(last_line)
        found.append((before.count("\n") + 1, match.group(1), skipped and skipped.group(1)))
    return found


EXAMPLES = [page for page in PAGES if blocks(page)]


@contextmanager
def service_for(code: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A running `octomem serve` and its variables, if the code asks for them."""
    if NEEDS_SERVICE not in code:
        yield {}
        return
    (served := tmp_path / "served").mkdir()
    with Service.start(served) as service:
        yield {"OCTOMEM_URL": service.url, "OCTOMEM_API_KEY": service.key()}


@pytest.mark.parametrize("page", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    found = blocks(page)
    assert all(why is None or why.strip() for _, _, why in found), "give why it is not run"
    code = "\n".join(f"# {page.name}:{line}\n{body}" for line, body, why in found if why is None)
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTOMEM_")}
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path), MEM0_TELEMETRY="False")
    with service_for(code, tmp_path) as served:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=work,
            env={**env, **served},
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert done.returncode == 0, f"{page.name}'s examples failed:\n{done.stderr[-3000:]}"


def test_only_code_that_needs_a_paid_key_is_left_out() -> None:
    left_out = {
        f"{page.name}:{line}": why
        for page in EXAMPLES
        for line, _, why in blocks(page)
        if why is not None
    }
    assert left_out and all("OPENAI_API_KEY" in why for why in left_out.values()), left_out
