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
        ScopeRequiredError,
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
# command line that only prints its help imports no store. Each module imports the ones
# before it, so a name is looked up in the lightest module that can hold it.
_MODULES = (
    "octomem.errors",
    "octomem.models",
    "octomem.settings",
    "octomem.orchestrator.engine",
    "octomem.memory",
)

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
    "ScopeRequiredError",
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
    if name in __all__:
        for module in _MODULES:
            value = getattr(importlib.import_module(module), name, None)
            if value is not None:
                globals()[name] = value  # once: later lookups are plain attribute reads
                return value
    raise AttributeError(f"module 'octomem' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
