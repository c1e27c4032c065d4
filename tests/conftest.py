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


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The default ONNX cache dir, moved under a tmp XDG_CACHE_HOME: tests never write to
    ~/.cache, and the model is exported once per run (every embedder after that reuses it)."""
    cache_home = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache_home))
        yield cache_home / "octomem" / "onnx"


@pytest.fixture(scope="session")
def embedder(onnx_cache: Path) -> Embedder:
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
