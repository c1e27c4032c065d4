"""The session fixture that serves the real model: see support.py."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

import pytest

from tests.llm_server.support import (
    CONTEXT_TOKENS,
    GEMMA3_TOKENIZER_CONFIG,
    STARTUP_S,
    model_path,
)
from tests.servers import answers, free_port, running


@pytest.fixture(scope="session")
def llm_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (ending in /v1) of an OpenAI-compatible server with the model loaded."""
    if url := os.environ.get("OCTOMEM_TEST_LLM_URL"):
        url = url.rstrip("/")
        if not answers(f"{url}/models"):
            pytest.fail(f"OCTOMEM_TEST_LLM_URL={url} does not answer /models")
        yield url
        return
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as exc:
        pytest.fail(
            f"llama-cpp-python[server] is not importable ({exc}): run `make test-llm` "
            "(or pip install -e '.[llm-test]')"
        )
    path = model_path()
    workdir = tmp_path_factory.mktemp("llm-server")
    tokenizer_config = workdir / "tokenizer_config.json"
    tokenizer_config.write_text(json.dumps(GEMMA3_TOKENIZER_CONFIG))
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(path),
        "--model_alias",
        "gemma",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chat_format",
        "hf-tokenizer-config",
        "--hf_tokenizer_config_path",
        str(tokenizer_config),
        "--n_ctx",
        str(CONTEXT_TOKENS),
        "--n_threads",
        "2",
        "--n_threads_batch",
        "2",
    ]
    with running(
        cmd,
        log_path=workdir / "server.log",
        ready=lambda: answers(f"{url}/models"),
        timeout_s=STARTUP_S,
        what=f"llama_cpp.server with {path.name} on {url} (log in {workdir})",
    ):
        yield url
