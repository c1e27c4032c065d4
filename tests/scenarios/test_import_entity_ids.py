"""An import cannot plant a node under the id another user's entity will get: an entity
whose id is not the one its own user and name give is stored under that id (its edges
follow), so forgetting one user never touches another's graph - and an older export whose
ids were computed before masking still imports."""

from __future__ import annotations

import io
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.models import Entity, Relation
from octomem.orchestrator.internals import services_of
from tests.conftest import T0

SAID = "I'm {who}. I live in Oslo and work at Statoil."


def _graph(orch: Orchestrator, user_id: str) -> tuple[list[Entity], list[Relation]]:
    graph = services_of(orch).graph

    async def read() -> tuple[list[Entity], list[Relation]]:
        entities = await graph.find_entities(user_id, ["Oslo", "Statoil", user_id.title()])
        return entities, await graph.relations(user_id)

    return orch.run_sync(read())


def _crafted_export(make_orch: Any) -> str:
    """Mallory's own export, with her entity ids swapped for the ids bob's will get."""
    source = make_orch()
    source.process(SAID.format(who="Mallory"), user_id="mallory", timestamp=T0)
    out = io.StringIO()
    source.export_jsonl(out, user_id="mallory")
    text = out.getvalue()
    assert '"type": "relation"' in text or '"type":"relation"' in text.replace(" ", "")
    for name in ("Oslo", "Statoil"):
        text = text.replace(Entity.make_id("mallory", name), Entity.make_id("bob", name))
    return text


def _snapshot(orch: Orchestrator, user_id: str) -> Any:
    entities, relations = _graph(orch, user_id)
    records = sorted((r.id, r.content) for r in orch.get_all(user_id=user_id))
    return (
        records,
        sorted((e.id, e.name) for e in entities),
        sorted((r.id, r.subject_id, r.object_id) for r in relations),
    )


@pytest.mark.parametrize("forgotten", ["mallory", "bob"])
def test_an_imported_entity_id_of_another_users_name_cannot_be_shared(
    make_orch: Any, forgotten: str
) -> None:
    target = make_orch()
    target.import_jsonl(io.StringIO(_crafted_export(make_orch)))
    target.process(SAID.format(who="Bob"), user_id="bob", timestamp=T0)
    kept = "bob" if forgotten == "mallory" else "mallory"
    # every node an edge of a user points at is that user's own
    for user in ("mallory", "bob"):
        entities, relations = _graph(target, user)
        assert relations, user
        ids = {e.id for e in entities}
        assert all(e.user_id == user for e in entities)
        assert {i for r in relations for i in (r.subject_id, r.object_id)} <= ids | {
            Entity.make_id(user, user.title())
        }
    before = _snapshot(target, kept)
    assert before[0] and before[2]
    target.forget(user_id=forgotten)
    assert _snapshot(target, kept) == before
    assert _snapshot(target, forgotten) == ([], [], [])
    report = target.check()
    assert report.consistent, report


def test_an_export_whose_ids_predate_masking_imports_with_its_edges(make_orch: Any) -> None:
    """An older export's entity ids were computed from names it never masked: the import
    masks the name and stores the entity under the id of the masked name, edges too."""
    source = make_orch()
    source.process(SAID.format(who="Mallory"), user_id="mallory", timestamp=T0)
    out = io.StringIO()
    source.export_jsonl(out, user_id="mallory")
    secret = "sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    old_id = Entity.make_id("mallory", f"Statoil {secret}")
    text = out.getvalue().replace(Entity.make_id("mallory", "Statoil"), old_id)
    text = text.replace("Statoil", f"Statoil {secret}")  # as written before masking
    target = make_orch()
    summary = target.import_jsonl(io.StringIO(text))
    assert summary.rejected_count == 0 and summary.relations > 0
    _, relations = _graph(target, "mallory")
    ends = sorted({i for r in relations for i in (r.subject_id, r.object_id)})
    owners = target.run_sync(services_of(target).graph.entity_owners([*ends, old_id]))
    assert owners == dict.fromkeys(ends, "mallory")  # every end stored, none under old_id
    assert secret not in target.export_jsonl(io.StringIO()).model_dump_json()
    report = target.check()
    assert report.consistent, [s for s in report.stores if s.missing or s.extra or s.stale]
