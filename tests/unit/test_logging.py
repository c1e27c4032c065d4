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
    assert "INFO:octomem.orchestrator.process_graph:processed user_id='u'" in loud.stderr
    assert "WARNING:octomem.test:a_warning reason='shown only when configured'" in loud.stderr


def test_an_event_and_its_context_are_one_stdlib_record(caplog: pytest.LogCaptureFixture) -> None:
    log = get_logger("octomem.example")
    with caplog.at_level(logging.INFO, logger="octomem"):
        log.debug("hidden", level="below the threshold")
        log.info("stored", user_id="u", count=3)
    [record] = caplog.records
    assert (record.name, record.levelname) == ("octomem.example", "INFO")
    assert record.getMessage() == "stored user_id='u' count=3"
