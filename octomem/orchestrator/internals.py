"""White-box access to an Orchestrator's services, for octomem's own tests and benchmarks
only: not an API (the library's surfaces never import it, an import-linter contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octomem.orchestrator.engine import Orchestrator
    from octomem.orchestrator.services import Services


def services_of(orchestrator: Orchestrator) -> Services:
    """The services `orchestrator` runs on (white-box tests and benchmarks only)."""
    return orchestrator._services
