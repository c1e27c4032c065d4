"""octomem logs through the standard `logging` module and is silent until the
application configures logging."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from octomem.logs import get_logger

SCRIPT = """
import sys, tempfile
{setup}
from octomem import Orchestrator
with Orchestrator.from_config(data_dir=tempfile.mkdtemp()) as orch:
    orch.process("I live in Berlin.", user_id="u")
    orch.recall("Where does the user live?", user_id="u")
    from octomem.logs import get_logger
    get_logger("octomem.test").warning("a_warning", reason="shown only when configured")
"""


def _run(setup: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(setup=setup)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def test_nothing_is_printed_unless_the_application_configures_logging() -> None:
    quiet = _run("")
    assert (quiet.stdout, quiet.stderr) == ("", "")
    loud = _run("import logging; logging.basicConfig(level=logging.INFO)")
    assert loud.stdout == ""
    assert "INFO:octomem.orchestrator.process.commit:processed user_id='u'" in loud.stderr
    assert "WARNING:octomem.test:a_warning reason='shown only when configured'" in loud.stderr


def test_an_event_and_its_context_are_one_stdlib_record(caplog: pytest.LogCaptureFixture) -> None:
    log = get_logger("octomem.example")
    with caplog.at_level(logging.INFO, logger="octomem"):
        log.debug("hidden", level="below the threshold")
        log.info("stored", user_id="u", count=3)
    [record] = caplog.records
    assert (record.name, record.levelname) == ("octomem.example", "INFO")
    assert record.getMessage() == "stored user_id='u' count=3"


def test_an_error_logged_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    """An error's text may quote what a caller or a model gave it: masked in the log line,
    the rest of the event as it is."""
    log = get_logger("octomem.test.masking")
    key = "sk-proj-" + "Zq8" * 12
    with caplog.at_level(logging.WARNING, logger="octomem.test.masking"):
        log.warning("llm extraction failed", error=ValueError(f"bad key {key}"), user_id="ann")
        log.warning("rejected", errors=["password: Quokka7731Zephyr", "limit"], error=None)
    first, second = (r.getMessage() for r in caplog.records)
    assert key not in first and "[MASKED key" in first and "user_id='ann'" in first
    assert "Quokka7731Zephyr" not in second and "'limit'" in second and "error=None" in second
