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


DEPLOY = "Here's how to deploy the app: 1. Run the tests 2. Build the image 3. Push it"


@pytest.mark.parametrize(
    "revision",
    [
        "The process changed: 1. Run the tests 2. Push to the main branch",
        "Our deployment process changed: 1. Open the pipeline 2. Click deploy",
        "New deploy steps:\n- Run the tests\n- Click deploy",
        "Update to the steps: 1. Run the tests 2. Ask for a review 3. Push it",
    ],
)
def test_a_procedure_described_again_under_another_title_is_its_new_version(
    shared_orch: Orchestrator, uid: Callable[[str], str], revision: str
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(DEPLOY, user_id=alice, timestamp=T0)
    orch.process("How to make tea: 1. Boil water 2. Steep the leaves", user_id=alice, timestamp=T0)
    result = orch.process(revision, user_id=alice, timestamp=T0 + timedelta(days=3))
    [op] = result.operations[MemoryType.PROCEDURAL]
    assert op.operation is Operation.SUPERSEDE

    current = orch.get_all(user_id=alice, memory_types=[MemoryType.PROCEDURAL])
    assert len(current) == 2 and "Make tea" in {getattr(r, "title", "") for r in current}
    [new] = [r for r in current if isinstance(r, ProceduralMemory) and r.title != "Make tea"]
    assert new.content.split("\n")[1:] == op.text.split("\n")[1:]  # the revision's steps
    # a retry changes nothing, and the next version finds it under the first one's title
    retried = orch.process(revision, user_id=alice, timestamp=T0 + timedelta(days=3))
    ops = retried.operations.get(MemoryType.PROCEDURAL, [])
    assert all(o.operation is Operation.NOOP for o in ops)
    assert orch.get_all(user_id=alice, memory_types=[MemoryType.PROCEDURAL]) == current
    again = "How to deploy the app: 1. Run the tests 2. Deploy from the CLI"
    [third] = orch.process(again, user_id=alice, timestamp=T0 + timedelta(days=5)).operations[
        MemoryType.PROCEDURAL
    ]
    assert third.operation is Operation.SUPERSEDE and third.previous_id == new.id


@pytest.mark.parametrize(
    "other",
    [
        "How to make coffee: 1. Grind the beans 2. Brew them",  # another procedure
        "Our release process: 1. Tag it 2. Publish the notes",
        "The steps: 1. Water the plants 2. Feed the cat",  # no title, no step in common
    ],
)
def test_a_different_procedure_is_not_taken_for_a_version(
    shared_orch: Orchestrator, uid: Callable[[str], str], other: str
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(DEPLOY, user_id=alice, timestamp=T0)
    [op] = orch.process(other, user_id=alice, timestamp=T0 + timedelta(days=1)).operations[
        MemoryType.PROCEDURAL
    ]
    assert op.operation is Operation.ADD
    assert len(orch.get_all(user_id=alice, memory_types=[MemoryType.PROCEDURAL])) == 2
