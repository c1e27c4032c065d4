"""octomem: a memory layer for LLM agents.

from octomem import Orchestrator
with Orchestrator.from_config("configs/default.yaml", data_dir="./om-data") as orch:
    orch.process("I'm Alice and I live in Paris.", user_id="alice")
    print(orch.recall("where does alice live?", user_id="alice").texts())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octomem.errors import (
        ConfigurationError,
        ConflictError,
        ImportRejectedError,
        InvalidInputError,
        LLMError,
        NotFoundError,
        OctomemError,
        StoreError,
        StoreUnavailableError,
    )
    from octomem.memory import AsyncMemory, Memory
    from octomem.models import (
        ContextualMemory,
        CoreMemory,
        EpisodicMemory,
        ForgetReport,
        HistoryEvent,
        KnowledgeMemory,
        MemoryOperation,
        MemoryType,
        Operation,
        ProceduralMemory,
        ProcessResult,
        Provenance,
        RecallHit,
        RecallResult,
        ResourceMemory,
        SemanticMemory,
        Stats,
        StepError,
        WorkingMemory,
    )
    from octomem.orchestrator.engine import Orchestrator
    from octomem.settings import Settings, load_settings

# imported on first use: `octomem.cli` and the Studio graphs import what they need, and a
# command line that only prints its help imports no store
_WHERE = {
    "ConfigurationError": "octomem.errors",
    "ConflictError": "octomem.errors",
    "ImportRejectedError": "octomem.errors",
    "InvalidInputError": "octomem.errors",
    "LLMError": "octomem.errors",
    "NotFoundError": "octomem.errors",
    "OctomemError": "octomem.errors",
    "StoreError": "octomem.errors",
    "StoreUnavailableError": "octomem.errors",
    "AsyncMemory": "octomem.memory",
    "Memory": "octomem.memory",
    "ContextualMemory": "octomem.models",
    "CoreMemory": "octomem.models",
    "EpisodicMemory": "octomem.models",
    "ForgetReport": "octomem.models",
    "HistoryEvent": "octomem.models",
    "KnowledgeMemory": "octomem.models",
    "MemoryOperation": "octomem.models",
    "MemoryType": "octomem.models",
    "Operation": "octomem.models",
    "ProceduralMemory": "octomem.models",
    "ProcessResult": "octomem.models",
    "Provenance": "octomem.models",
    "RecallHit": "octomem.models",
    "RecallResult": "octomem.models",
    "ResourceMemory": "octomem.models",
    "SemanticMemory": "octomem.models",
    "Stats": "octomem.models",
    "StepError": "octomem.models",
    "WorkingMemory": "octomem.models",
    "Orchestrator": "octomem.orchestrator.engine",
    "Settings": "octomem.settings",
    "load_settings": "octomem.settings",
}

__all__ = [
    "AsyncMemory",
    "ConfigurationError",
    "ConflictError",
    "ContextualMemory",
    "CoreMemory",
    "EpisodicMemory",
    "ForgetReport",
    "HistoryEvent",
    "ImportRejectedError",
    "InvalidInputError",
    "KnowledgeMemory",
    "LLMError",
    "Memory",
    "MemoryOperation",
    "MemoryType",
    "NotFoundError",
    "OctomemError",
    "Operation",
    "Orchestrator",
    "ProceduralMemory",
    "ProcessResult",
    "Provenance",
    "RecallHit",
    "RecallResult",
    "ResourceMemory",
    "SemanticMemory",
    "Stats",
    "StepError",
    "Settings",
    "StoreError",
    "StoreUnavailableError",
    "WorkingMemory",
    "load_settings",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'octomem' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
