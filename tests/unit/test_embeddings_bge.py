"""bge-small-en-v1.5 (int8 ONNX, the octomem-bge-small-en-v1-5 package of `octomem[bge]`)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

from octomem.embeddings import BGE_MODEL_SHA256, CachedEmbedder, LocalEmbedder
from octomem.errors import ConfigurationError

bge = pytest.importorskip(
    "octomem_bge_small_en_v1_5",
    reason="the bge extra is not installed (pip install 'octomem[bge]')",
)


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    local = LocalEmbedder("bge-small-en-v1.5")
    local.load()
    return local


def embed(embedder: LocalEmbedder, texts: list[str]) -> np.ndarray:
    return np.asarray(asyncio.run(embedder.embed(texts)), dtype=np.float64)


def test_the_package_files_are_the_checked_release() -> None:
    model_dir = Path(bge.MODEL_DIR)
    for name in ("model_quantized.onnx", "tokenizer.json", "sentence_bert_config.json"):
        assert (model_dir / name).is_file(), name
    assert bge.ONNX_SHA256 == BGE_MODEL_SHA256


def test_vectors_are_unit_norm_and_384_dimensional(embedder: LocalEmbedder) -> None:
    vectors = embed(embedder, ["hello world", "", "a much longer sentence " * 200])
    assert embedder.active_backend == "onnx" and embedder.name == "local/bge-small-en-v1.5"
    assert embedder.dimension == 384 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(embedder: LocalEmbedder) -> None:
    eat, meal, market = embed(
        embedder,
        ["A man is eating food.", "A man is eating a meal.", "The stock market fell sharply."],
    )
    trip, travel, bake = embed(
        embedder,
        [
            "Caroline went to Sweden last summer.",
            "Last summer Caroline travelled to Sweden.",
            "Melanie baked a chocolate cake for her son.",
        ],
    )
    # reference values of this int8 model (CLS, normalised): 0.963 and 0.398 for the first
    assert eat @ meal > 0.9 > 0.6 > eat @ market
    assert trip @ travel > trip @ bake + 0.2


def test_batched_and_single_vectors_nearly_agree(embedder: LocalEmbedder) -> None:
    """Not exactly: the int8 graph quantizes its activations per call, over the padded
    group, so a text's vector depends a little on what it is batched with (cosine 0.994
    to 0.997 measured; docs/benchmarks.md)."""
    texts = ["short", "a somewhat longer sentence about dinner plans", "x y z"]
    batch = embed(embedder, texts)
    for text, row in zip(texts, batch, strict=True):
        assert embed(embedder, [text])[0] @ row > 0.99


def test_a_corrupt_file_is_refused_naming_its_sha256(tmp_path: Path) -> None:
    copy = tmp_path / "bge"
    shutil.copytree(bge.MODEL_DIR, copy)
    onnx_file = copy / "model_quantized.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    local = LocalEmbedder("bge-small-en-v1.5", model_dir=copy, expected_sha256=BGE_MODEL_SHA256)
    with pytest.raises(ConfigurationError) as caught:
        local.load()
    message = str(caught.value)
    assert "corrupt" in message and f"expected {BGE_MODEL_SHA256}" in message
    assert "sha256 is " in message and "octomem[bge]" in message


def test_torch_backend_is_refused_for_the_onnx_file() -> None:
    with pytest.raises(ConfigurationError, match="ONNX Runtime only"):
        LocalEmbedder("bge-small-en-v1.5", backend="torch").load()


def test_settings_select_it_with_its_own_hash() -> None:
    from octomem.orchestrator.lifecycle import build_embedder
    from octomem.settings import Settings

    settings = Settings(embedder={"provider": "local", "model": "bge-small-en-v1.5"})
    built = build_embedder(settings)
    assert built.name == "local/bge-small-en-v1.5"
    assert isinstance(built, CachedEmbedder) and isinstance(built.inner, LocalEmbedder)
    assert built.inner.load() == "onnx"
    other = "0" * 64  # a hash of the settings' own: the file is checked against it instead
    settings = Settings(
        embedder={"provider": "local", "model": "bge-small-en-v1.5", "sha256": other}
    )
    pinned = build_embedder(settings)
    assert isinstance(pinned, CachedEmbedder) and isinstance(pinned.inner, LocalEmbedder)
    with pytest.raises(ConfigurationError, match=f"sha256 is {BGE_MODEL_SHA256}, expected {other}"):
        pinned.inner.load()
