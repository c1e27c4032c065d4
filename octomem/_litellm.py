"""The one way octomem imports litellm (shared by the LLM client and the embedders).

litellm (with openai, boto3 and tiktoken, ~250 MB) is the `octomem[llm]` extra: the
default, offline configuration never imports it."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from octomem.errors import ConfigurationError

INSTALL = "pip install 'octomem[llm]'"


def require_litellm(what: str) -> None:
    """Raise a ConfigurationError naming the extra when litellm is not installed: at
    open, not at the first call."""
    try:
        found = importlib.util.find_spec("litellm") is not None
    except ValueError:  # sys.modules["litellm"] is None: an import would fail
        found = False
    if not found:
        raise ConfigurationError(
            f"{what} needs litellm, which is not installed; install it with `{INSTALL}`"
        )


def import_litellm() -> Any:
    """Import litellm without it fetching its model price map from the network at import
    (litellm reads this switch from the environment, so it is set there)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as exc:
        raise ConfigurationError(
            f"litellm is not installed ({exc}); install it with `{INSTALL}`"
        ) from exc
    return litellm
