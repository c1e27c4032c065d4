"""The one way octomem imports litellm (shared by the LLM client and the embedders)."""

from __future__ import annotations

import os
from typing import Any


def import_litellm() -> Any:
    """Import litellm without it fetching its model price map from the network at import
    (litellm reads this switch from the environment, so it is set there)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm
