"""A library prints nothing unless the application configures logging: not octomem's own
warnings, and not those of the libraries it reads files with (pypdf's "EOF marker not
found" on a malformed PDF, which Python's last-resort handler would print to stderr).
Run in a child process: pytest's own log capture would hide such a print here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.media_files import needs

CHILD = """
import sys
from pathlib import Path
from octomem import Orchestrator
folder = Path(sys.argv[1])
orch = Orchestrator.from_config(data_dir=str(folder / "data"))
report = orch.ingest(folder / "files", user_id="maya")
print(report.skipped)
orch.close()
"""


def test_ingesting_a_malformed_pdf_prints_nothing_to_stderr(tmp_path: Path) -> None:
    needs("pypdf")
    files = tmp_path / "files"
    files.mkdir()
    (files / "broken.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 2)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "broken.pdf" in done.stdout  # skipped, with its reason
    assert done.stderr == ""
