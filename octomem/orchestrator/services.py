"""`Services`: the dependencies the graphs run on, in one plain container that does no
I/O of its own (`octomem.orchestrator.lifecycle` builds it and opens its stores).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property

from octomem.agents.base import MemoryAgent, TurnLog
from octomem.agents.registry import Roles, default_agents
from octomem.embeddings import Embedder
from octomem.errors import OctomemError
from octomem.llm import LLMClient
from octomem.memory_types import BUILTIN_REGISTRY, TypeRegistry
from octomem.models import BUILTIN_TYPES, MemoryType
from octomem.orchestrator.late_writes import LateWrites
from octomem.orchestrator.locks import ScopeLocks
from octomem.settings import Settings
from octomem.stores import parsed
from octomem.stores.base import GraphStore, HistoryStore, Journal, KeywordStore, VectorStore
from octomem.stores.blobs import BlobStore
from octomem.stores.clock import Clock


@dataclass
class Services:
    """Everything a graph node needs. Built once per Orchestrator; closed with it."""

    settings: Settings
    vector: VectorStore
    keyword: KeywordStore
    history: HistoryStore
    graph: GraphStore
    journal: Journal
    embedder: Embedder
    # the per-scope write locks every write path holds (`octomem.orchestrator.locks`)
    locks: ScopeLocks
    agents: dict[MemoryType, MemoryAgent] = field(default_factory=default_agents)
    types: TypeRegistry = BUILTIN_REGISTRY  # the agents' memory types (`type_registry`)
    llm: LLMClient | None = None
    # the original bytes of image and file parts (`originals`); None with store servers
    blobs: BlobStore | None = None
    # the read memos given to the engine (`Records.get`, `arecall`): a forget drops theirs
    memos: weakref.WeakSet[parsed.Memo] = field(default_factory=weakref.WeakSet)
    # the vector entries a dead writer's request may still change (`late_writes`)
    late: LateWrites = field(default_factory=LateWrites)
    _id_key: bytes | None = None  # memory ids are keyed with it (`octomem.id_key`)
    id_key_source: Callable[[], Awaitable[bytes | None]] | None = None  # on a server: read at open

    @property
    def id_key(self) -> bytes | None:
        if self.id_key_source is not None:  # never the unkeyed ids by mistake
            raise OctomemError(
                "the id key is kept on the graph server and read when the stores open: "
                "open the Orchestrator first (`aopen`; its first call does)"
            )
        return self._id_key

    @id_key.setter
    def id_key(self, value: bytes | None) -> None:
        self._id_key, self.id_key_source = value, None

    @property
    def clock(self) -> Clock:
        """The one clock "now" is stamped with on whatever is stored (validity, history,
        journal, a turn without a timestamp): the graph server's in server mode, whatever
        this host's clock says (`octomem.stores.clock`)."""
        return self.locks.graph.clock

    @property
    def stores(self) -> tuple[VectorStore, KeywordStore, HistoryStore, GraphStore, Journal]:
        return (self.vector, self.keyword, self.history, self.graph, self.journal)

    @cached_property
    def roles(self) -> Roles:
        """Which agents play which role (`octomem.agents.base`), asked by memory type."""
        return Roles(self.agents)

    @property
    def turn_log(self) -> TurnLog:
        """The agent that keeps the raw turns (`TurnLog`): their records, their type."""
        return self.roles.turns

    @property
    def enabled_agents(self) -> list[MemoryType]:
        """The built-in agents `agents.enabled` lists, and every custom agent."""
        enabled = set(self.settings.agents.enabled)
        return [m for m in self.agents if m in enabled or m not in BUILTIN_TYPES]
