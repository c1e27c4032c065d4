"""The CLI opens its stores with garbage collection off (`cli_support.StoreOptions.open`)
and gives back the state it found, also when opening fails."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from octomem.cli_support import StoreOptions
from octomem.errors import OctomemError


@pytest.fixture
def collecting() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_opening_gives_back_the_collection_state_it_found(
    tmp_path: Path, collecting: None, enabled: bool
) -> None:
    gc.enable() if enabled else gc.disable()
    with StoreOptions(None, tmp_path / "data", as_json=True).open() as orch:
        assert orch.get_all(user_id="ann") == []
        assert gc.isenabled() is enabled  # on again (or still off) while the command runs
    assert gc.isenabled() is enabled


def test_a_failed_opening_gives_it_back_too(tmp_path: Path, collecting: None) -> None:
    gc.enable()
    config = tmp_path / "octomem.toml"
    config.write_text("[vector]\nprovider = 'nothing-of-the-kind'\n")
    with pytest.raises(OctomemError), StoreOptions(config, tmp_path / "data", as_json=True).open():
        pass
    assert gc.isenabled()
