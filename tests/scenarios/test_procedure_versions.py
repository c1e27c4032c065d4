"""A procedure the user revises - introduced by a sentence that names it ("Our release
process changed: ...") - becomes a new version of the stored one, not a second procedure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from octomem import MemoryType, Operation, Orchestrator
from octomem.models import ProceduralMemory
from tests.conftest import T0

FIRST = "Here's our release process: 1. Cut a release branch 2. Run the test suite 3. Tag it"


@pytest.mark.parametrize(
    "revision",
    [
        "Our release process changed: 1. Cut a release branch 2. Run the test suite "
        "3. Get a sign-off 4. Tag it",
        "Update to the release process:\n1. Freeze main\n2. Run the test suite\n3. Tag it",
        "Release process (v2):\n- Run the test suite\n- Tag it\n- Publish the notes",
        "The way we release is now: first run the test suite, then tag it, then publish the notes.",
    ],
)
def test_a_revised_procedure_supersedes_the_stored_version(
    shared_orch: Orchestrator, uid: Callable[[str], str], revision: str
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(FIRST, user_id=alice, timestamp=T0)
    orch.process(revision, user_id=alice, timestamp=T0 + timedelta(days=3))

    current = orch.get_all(user_id=alice, memory_types=[MemoryType.PROCEDURAL])
    every = orch.get_all(
        user_id=alice, memory_types=[MemoryType.PROCEDURAL], include_superseded=True
    )
    assert len(current) == 1 and len(every) == 2
    [new] = current
    [old] = [r for r in every if r.id != new.id]
    assert isinstance(new, ProceduralMemory) and "Run the test suite" in new.steps
    assert old.steps == ["Cut a release branch", "Run the test suite", "Tag it"]
    assert Operation.SUPERSEDE in [e.operation for e in orch.history(old.id)]
