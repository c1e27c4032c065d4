"""Procedure titles: found in the sentence that introduces a list, and normalised so every
version of one procedure shares the key that supersedes the older version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from octomem.agents import ProceduralAgent
from octomem.agents.base import ExtractionContext
from octomem.agents.procedural.agent import _title, procedure_key
from octomem.models import ProceduralMemory, Scope, Turn

TS = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lead", "title"),
    [
        ("Our release process changed:", "Release process"),
        ("Here is our release process:", "Release process"),
        ("Update to my morning routine:", "Morning routine"),
        ("My morning routine is:", "Morning routine"),
        ("New deploy steps:", "Deploy steps"),
        ("The way we deploy is now:", "Deploy"),
        ("We changed how we onboard people:", "Onboard people"),
        ("Here's how to deploy the app:", "Deploy the app"),
        ("Steps to bake bread:", "Bake bread"),
        ("Some restaurants:", None),
        ("Some ideas:", None),
    ],
)
def test_title_from_the_introducing_sentence(lead: str, title: str | None) -> None:
    assert _title(lead) == title


@pytest.mark.parametrize(
    "title",
    ["our release process", "the release process", "Release process (v2)", "my release process"]
    + ["Release process v3", "release steps", "New release process", "Release"],
)
def test_versions_of_one_procedure_share_a_key(title: str) -> None:
    assert procedure_key(title) == "release"


def test_different_procedures_keep_different_keys() -> None:
    keys = {procedure_key(t) for t in ["Release process", "Deploy steps", "Morning routine"]}
    assert keys == {"release", "deploy", "morning routine"}
    assert procedure_key("The process") == "process"


@pytest.mark.parametrize(
    "text",
    [
        "Our release process changed: 1. Cut a branch 2. Run the tests 3. Tag it",
        "New release steps:\n- Run the tests\n- Tag it",
        "The way we release is now: first run the tests, then tag it.",
    ],
)
def test_revisions_extract_under_the_stored_conflict_key(text: str) -> None:
    agent = ProceduralAgent()
    ctx = ExtractionContext(scope=Scope(user_id="u"), now=TS)
    turn = Turn(id="t0", role="user", content=text, timestamp=TS, index=0)
    [record] = agent.extract([turn], ctx)
    assert isinstance(record, ProceduralMemory)
    assert agent.conflict_key(record) == "release"
