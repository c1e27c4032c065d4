"""`ingest` as someone watching it sees it: the progress callback names each file as it is
started, in order; `--json` gives the seconds each file took and the warnings of the PDF
and image libraries, summed up; an empty file is skipped with its reason, never stored;
the command line prints nothing of pypdf's own warnings (eleven 2 KB lines for a PDF with
a CFF font, "EOF marker not found" for a truncated one), only its one-line summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.media_files import cff_font_pdf, make_pdf, needs


def test_progress_names_each_file_as_it_is_read_and_the_report_times_them(
    make_orch: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    (folder / "b").mkdir(parents=True)
    (folder / "a.md").write_text("The boat is moored at pier 9.", encoding="utf-8")
    (folder / "b" / "c.txt").write_text("Call the harbour master on Friday.", encoding="utf-8")
    (folder / "empty.png").write_bytes(b"")
    (folder / "blank.md").write_text("\n  \n\t\n", encoding="utf-8")
    (folder / "skip.docx").write_bytes(b"PK\x03\x04")
    orch = make_orch(data_dir=tmp_path / "data")
    named: list[tuple[int, int, str | None]] = []
    counted: list[tuple[int, int]] = []
    report = orch.ingest(
        folder, user_id="ana", progress=lambda done, total, path: named.append((done, total, path))
    )
    assert named == [
        (0, 4, "a.md"),
        (1, 4, "b/c.txt"),
        (2, 4, "blank.md"),
        (3, 4, "empty.png"),
        (4, 4, None),
    ]
    assert report.added == ["a.md", "b/c.txt"]  # the empty files are not counted as added
    reasons = dict(report.skipped)
    assert reasons["empty.png"] == "empty file (0 bytes): nothing to read"
    assert reasons["blank.md"].startswith("empty file (only blank")
    stored = {r.metadata.get("ingest_path") for r in orch.get_all(user_id="ana")}
    assert "empty.png" not in stored and "blank.md" not in stored and "b/c.txt" in stored
    assert list(report.seconds) == ["a.md", "b/c.txt", "blank.md", "empty.png"]
    assert all(isinstance(s, float) and s >= 0 for s in report.seconds.values())
    assert report.as_dict()["seconds"] == report.seconds and report.warnings_line() is None

    # a callback of two arguments is called as before: after each file
    again = orch.ingest(folder, user_id="ana", progress=lambda d, t: counted.append((d, t)))
    assert counted == [(1, 4), (2, 4), (3, 4), (4, 4)] and again.unchanged == ["a.md", "b/c.txt"]


def test_pdf_warnings_are_summed_up_not_printed(make_orch: Any, tmp_path: Path) -> None:
    needs("pypdf")
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "handbook.pdf").write_bytes(
        cff_font_pdf([f"Chapter {i}: the Quillby venue opens at nine." for i in range(1, 12)])
    )
    (folder / "broken.pdf").write_bytes(make_pdf(["Never read"])[:300])
    report = make_orch(data_dir=tmp_path / "data").ingest(folder, user_id="ana")
    assert report.added == ["handbook.pdf"] and [p for p, _ in report.skipped] == ["broken.pdf"]
    by_message = {w["message"]: w for w in report.as_dict()["warnings"]}
    font = next(w for m, w in by_message.items() if "fontTools" in m)
    assert font["library"] == "pypdf" and font["files"] == {"handbook.pdf": 11}
    assert by_message["EOF marker not found"]["files"] == {"broken.pdf": 1}
    assert report.warnings_line() is not None and "12 warnings" in report.warnings_line()


def test_the_command_prints_one_line_for_the_libraries_warnings(tmp_path: Path) -> None:
    """In a child process, as a user runs it: the CLI configures logging, so a warning
    that reached the root logger would be printed."""
    needs("pypdf")
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "handbook.pdf").write_bytes(cff_font_pdf([f"Chapter {i}." for i in range(1, 12)]))
    (folder / "broken.pdf").write_bytes(make_pdf(["Never read"])[:300])
    command = [sys.executable, "-m", "octomem", "ingest", str(folder), "-u", "ana"]
    command += ["--data-dir", str(tmp_path / "data")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if line.startswith("ingesting ")]
    assert progress == ["ingesting 1/2 broken.pdf", "ingesting 2/2 handbook.pdf", "ingesting 2/2"]
    told = [line for line in done.stderr.splitlines() if not line.startswith("ingesting ")]
    lines = " ".join(" ".join(told).split()).split("skipped ")
    assert "EOF marker" not in done.stderr and "font dictionary" not in done.stderr
    assert lines[0] == "" and lines[1].startswith("broken.pdf: ")
    assert "12 warnings from the file readers in 2 files" in lines[1]
    assert len(" ".join(told)) < 600  # not eleven lines of 2 KB
    listed = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=300, check=True
    )
    assert listed.stderr == ""
    report = json.loads(listed.stdout)
    assert set(report["seconds"]) == {"broken.pdf", "handbook.pdf"}
    assert {w["message"] for w in report["warnings"]} >= {"EOF marker not found"}


def test_a_capture_counts_its_own_reads_and_leaves_other_threads_warnings_alone(
    caplog: Any,
) -> None:
    """While one run counts pypdf's warnings, a PDF read elsewhere in the application (a
    thread of its own) still logs to the application's handlers, as before."""
    import logging
    import threading
    import warnings

    from octomem.media import notices

    caplog.set_level(logging.WARNING)
    with notices.captured() as notes:
        logging.getLogger("pypdf._reader").warning("EOF marker not found")
        other = threading.Thread(
            target=lambda: logging.getLogger("pypdf._reader").warning("from elsewhere")
        )
        other.start()
        other.join()
        warnings.warn_explicit("odd palette", UserWarning, "/site-packages/PIL/Image.py", 1)
    assert notes == {("pypdf", "EOF marker not found"): 1, ("PIL", "odd palette"): 1}
    assert [r.getMessage() for r in caplog.records] == ["from elsewhere"]
    logging.getLogger("pypdf._reader").warning("after the run")
    assert caplog.records[-1].getMessage() == "after the run"  # propagation is back
    assert logging.getLogger("pypdf").propagate


def test_captures_in_concurrent_tasks_count_their_own_and_undo_nothing() -> None:
    """Two runs at once on one event loop, the first to start ending first: each counts
    its own file's warnings, and afterwards warnings and pypdf's records are shown as
    before (a per-capture swap of `warnings.showwarning` restored in the wrong order would
    leave every later warning in a dead run's list)."""
    import asyncio
    import logging
    import warnings

    from octomem.media import notices

    before = warnings.showwarning

    async def run(name: str, started: asyncio.Event, other: asyncio.Event) -> Any:
        with notices.captured() as notes:
            started.set()
            await other.wait()
            logging.getLogger("pypdf._page").warning(f"odd page in {name}")
            warnings.warn_explicit(f"palette {name}", UserWarning, "/x/PIL/Image.py", 1)
            if name == "b":
                await asyncio.sleep(0.01)  # b ends after a
        return notes

    async def both() -> list[Any]:
        a, b = asyncio.Event(), asyncio.Event()
        return list(await asyncio.gather(run("a", a, b), run("b", b, a)))

    first, second = asyncio.run(both())
    assert first == {("pypdf", "odd page in a"): 1, ("PIL", "palette a"): 1}
    assert second == {("pypdf", "odd page in b"): 1, ("PIL", "palette b"): 1}
    assert warnings.showwarning is before and logging.getLogger("pypdf").propagate
