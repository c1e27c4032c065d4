"""octomem: a memory layer for LLM agents.

from octomem import Orchestrator
with Orchestrator.from_config("configs/default.yaml", data_dir="./om-data") as orch:
    orch.process("I'm Alice and I live in Paris.", user_id="alice")
    print(orch.recall("where does alice live?", user_id="alice").texts())
"""

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
