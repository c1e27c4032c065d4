"""Shared fixtures: real embedded backends in tmp dirs and one loaded embedder per run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.orchestrator.services import build_embedder
from octomem.settings import load_settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole run."""
    return build_embedder(load_settings())


@pytest.fixture
def make_orch(tmp_path: Path, embedder: Embedder) -> Iterator[Any]:
    """Factory: an Orchestrator on fresh embedded stores under tmp_path."""
    opened: list[Orchestrator] = []

    def make(**overrides: Any) -> Orchestrator:
        overrides.setdefault("data_dir", tmp_path / f"om{len(opened)}")
        orch = Orchestrator.from_settings(load_settings(**overrides), embedder=embedder)
        opened.append(orch)
        return orch

    yield make
    for orch in opened:
        orch.close()


@pytest.fixture
def orch(make_orch: Any) -> Orchestrator:
    return make_orch()
