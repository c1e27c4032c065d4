"""The server stores' Cypher finds a relationship by its properties in a WHERE clause,
never in the pattern's property map: ArcadeDB reads every RELATES edge of the graph for
`MATCH ()-[r:RELATES {id: $id}]->()` (312 ms at 80k edges, growing with every user's
facts) and uses its index for `MATCH ()-[r:RELATES]->() WHERE r.id = $id` (1.7 ms).
Timings cannot be asserted, so the statements are read: a lookup written the slow way
fails here, whichever module it is in."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator

import pytest

from octomem.stores import cypher_graph

MODULES = (
    "octomem.stores.cypher_graph",
    "octomem.stores.graph_expansion",
    "octomem.stores.graph_keyword",
    "octomem.stores.neo4j",
    "octomem.stores.neo4j_batch",
    "octomem.stores.neo4j_client",
    "octomem.stores.neo4j_history",
    "octomem.stores.neo4j_journal",
)
# a MATCH clause: up to the next clause keyword
_MATCH = re.compile(
    r"\bMATCH\b(.*?)(?=\b(?:WHERE|WITH|RETURN|CREATE|MERGE|SET|DELETE|UNWIND|CALL)\b|$)"
)
_EDGE_MAP = re.compile(r"\[[^\]]*\{")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):  # a `Dialect`
        for item in dataclasses.fields(value):
            yield from _strings(getattr(value, item.name))


def statements() -> list[tuple[str, str]]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            found += [(f"{name}.{attr}", s) for s in _strings(value) if "MATCH" in s]
    found += [("_create_relations", cypher_graph._create_relations(cypher_graph.Dialect()))]
    return found


def edge_lookups_by_map(statement: str) -> list[str]:
    return [m.group(1) for m in _MATCH.finditer(statement) if _EDGE_MAP.search(m.group(1))]


def test_the_rule_sees_a_lookup_by_map_and_passes_one_by_where() -> None:
    assert edge_lookups_by_map("MATCH ()-[r:RELATES {id: $id}]->() SET r.x = 1")
    assert edge_lookups_by_map("UNWIND $ids AS i OPTIONAL MATCH (a)-[r:R {id: i}]-(b) RETURN r")
    assert not edge_lookups_by_map("MATCH ()-[r:RELATES]->() WHERE r.id = $id RETURN r")
    assert not edge_lookups_by_map("MATCH (a:Entity {id: $a}) CREATE (a)-[:R {id: $c}]->(a)")


@pytest.mark.parametrize(("where", "statement"), statements(), ids=lambda v: v[:60])
def test_no_relationship_is_found_by_a_property_map(where: str, statement: str) -> None:
    assert not edge_lookups_by_map(statement), f"{where}: {statement}"
