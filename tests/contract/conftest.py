"""Fixtures of the contract suites: a GraphStore of every backend (`graph`), listed in
tests/contract/graph_backends.py. The Chroma server of the HTTP-mode vector tests is
`chroma_server_url` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.graph_backends import BACKENDS, Graph, open_graph


@pytest.fixture(params=BACKENDS)
async def graph(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Graph]:
    """A GraphStore of each backend (see tests/contract/graph_backends.py), opened fresh."""
    async with open_graph(request.param, request, tmp_path) as g:
        yield g
