"""mem0 OSS `Memory` as a system under test: `infer=False`, Chroma, the same local
all-MiniLM-L6-v2 embedder (from the octomem-minilm-l6-v2 package; nothing downloaded) and
a dummy LLM that is never called. Install with `pip install 'octomem[bench]'`."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.locomo_format import turn_text


def _quiet() -> None:
    """No telemetry from mem0 (set before mem0 is imported); no LLM key needed."""
    os.environ.setdefault("MEM0_TELEMETRY", "False")
    os.environ.setdefault("OPENAI_API_KEY", "unused-infer-false-never-calls-the-llm")


def mem0_missing() -> str | None:
    """Why mem0 cannot run here, or None."""
    _quiet()
    try:
        import mem0  # noqa: F401
    except ImportError:
        return "mem0ai is not installed (pip install 'octomem[bench]')"
    return None


def make_memory(path: Path) -> Any:
    _quiet()
    import octomem_minilm_l6_v2
    from mem0 import Memory

    path.mkdir(parents=True, exist_ok=True)
    config = {
        "vector_store": {
            "provider": "chroma",
            "config": {"collection_name": "bench", "path": str(path / "chroma")},
        },
        "embedder": {
            "provider": "huggingface",
            "config": {"model": str(octomem_minilm_l6_v2.MODEL_DIR), "embedding_dims": 384},
        },
        "llm": {"provider": "openai", "config": {"model": "never-called"}},
        "history_db_path": str(path / "history.db"),
    }
    return Memory.from_config(config)


class Mem0UnderTest:
    """LoCoMo through mem0: each session's turns added in one `add(..., infer=False)`."""

    def __init__(self, path: Path) -> None:
        self.memory = make_memory(path)
        # mem0 stores a message's text and returns it; map texts back to dia_ids
        self.dia: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def ingest(self, conv: Any, progress: Any) -> None:
        for n, when, turns in conv.sessions:
            messages = []
            for turn in turns:
                if text := turn_text(turn):
                    content = f"{turn['speaker']}: {text}"  # the text octomem stores
                    messages.append({"role": "user", "content": content, "name": turn["speaker"]})
                    self.dia[conv.sample_id][content].append(turn["dia_id"])
            if messages:
                self.memory.add(
                    messages,
                    user_id=conv.sample_id,
                    infer=False,
                    metadata={"session": n, "date": when.isoformat()},
                )
            progress.update(len(turns))

    def search(self, conv: Any, q: Any, k: int) -> list[list[str]]:
        found = self.memory.search(
            q.text, top_k=k, filters={"user_id": conv.sample_id}, threshold=0.0
        )
        texts = self.dia[conv.sample_id]
        return [list(texts.get(item["memory"], [])) for item in found["results"]]

    def close(self) -> None:
        close = getattr(self.memory, "close", None)
        if callable(close):
            close()
