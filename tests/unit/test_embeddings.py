from __future__ import annotations

import asyncio
import gc
import math
import shutil
import sys
import tracemalloc
import types
from collections.abc import Sequence
from pathlib import Path

import pytest

from octomem._litellm import import_litellm
from octomem.embeddings import (
    BUNDLED_MODEL_SHA256,
    BUNDLED_ONNX,
    BUNDLED_ONNX_SHA256,
    CachedEmbedder,
    Embedder,
    LiteLLMEmbedder,
    LocalEmbedder,
    embed_for,
)
from octomem.errors import ConfigurationError, InvalidInputError, LLMError


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    embedder = LocalEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def model_dir() -> Path:
    import octomem_minilm_l6_v2

    return Path(octomem_minilm_l6_v2.MODEL_DIR)


# --- local model -----------------------------------------------------------------------


def test_local_embedder_is_an_embedder(local):
    assert isinstance(local, Embedder)
    assert local.name == "local/all-MiniLM-L6-v2"
    assert local.dimension == 384


def test_dimension_known_without_loading():
    embedder = LocalEmbedder()
    assert embedder.dimension == 384
    assert embedder._st is None
    assert embedder.active_backend is None


async def test_unit_vectors_and_similarity(local):
    texts = [
        "I adopted a puppy last week.",
        "We got a new dog recently.",
        "The quarterly tax filing deadline is in April.",
    ]
    vectors = await local.embed(texts)
    assert len(vectors) == 3
    for vector in vectors:
        assert len(vector) == 384
        assert all(type(x) is float for x in vector)
        assert math.isclose(math.sqrt(cosine(vector, vector)), 1.0, abs_tol=1e-4)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[1], vectors[2]) + 0.2


async def test_empty_input(local):
    assert await local.embed([]) == []


async def test_batching_matches_one_by_one(model_dir):
    texts = [f"sentence number {i} about {'cats' if i % 2 else 'the weather'}" for i in range(7)]
    small = LocalEmbedder(batch_size=3)
    together = await small.embed(texts)
    singles = [(await small.embed([text]))[0] for text in texts]
    for a, b in zip(together, singles, strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5


async def test_embed_rejects_a_bare_string_or_a_text_that_is_not_one(local):
    with pytest.raises(InvalidInputError, match=r"embed\(\[text\]\)"):
        await local.embed("hello")
    with pytest.raises(InvalidInputError, match=r"texts\[1\] is int"):
        await local.embed(["hello", 3])


async def test_model_loads_once_under_concurrency(monkeypatch):
    sentence_transformers = pytest.importorskip("sentence_transformers")

    real = sentence_transformers.SentenceTransformer
    constructed: list[str] = []

    def counting(*args, **kwargs):
        constructed.append(args[0])
        assert kwargs["local_files_only"] is True
        return real(*args, **kwargs)

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", counting)
    embedder = LocalEmbedder(backend="torch")  # ONNX: see test_embeddings_onnx.py
    results = await asyncio.gather(*(embedder.embed([f"text {i}"]) for i in range(6)))
    assert len(results) == 6
    assert len(constructed) == 1


def _copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    ("name", "sha256"),
    [("model.safetensors", BUNDLED_MODEL_SHA256), (BUNDLED_ONNX, BUNDLED_ONNX_SHA256)],
)
def test_corrupted_files_raise_before_loading(name, sha256, tmp_path, model_dir, monkeypatch):
    """The graph and the weights it reads are both checked before ONNX Runtime sees them."""
    import onnxruntime

    def must_not_load(*args, **kwargs):
        raise AssertionError("the model must not be loaded when its hash is wrong")

    monkeypatch.setattr(onnxruntime, "InferenceSession", must_not_load)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    copy = _copy_model(model_dir, tmp_path / "model")
    corrupt = copy / name
    data = bytearray(corrupt.read_bytes())
    data[-1] ^= 0xFF
    corrupt.write_bytes(bytes(data))

    embedder = LocalEmbedder(model_dir=copy)
    with pytest.raises(ConfigurationError) as info:
        asyncio.run(embedder.embed(["hello"]))
    message = str(info.value)
    assert str(corrupt) in message
    assert sha256 in message
    assert "sha256 is " in message and message.split("sha256 is ")[1][:64] != sha256
    assert "octomem-minilm-l6-v2" in message
    assert embedder._st is None and embedder._onnx is None


def test_intact_copy_with_model_dir_loads(tmp_path, model_dir):
    copy = _copy_model(model_dir, tmp_path / "model")
    vectors = asyncio.run(LocalEmbedder(model_dir=copy).embed(["hello"]))
    assert len(vectors[0]) == 384


def test_missing_model_files(tmp_path):
    with pytest.raises(ConfigurationError, match="model.safetensors is missing") as info:
        LocalEmbedder(model_dir=tmp_path).load()
    assert "has no ONNX file" in str(info.value)


def test_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "octomem_minilm_l6_v2", None)
    with pytest.raises(ConfigurationError, match="octomem-minilm-l6-v2"):
        LocalEmbedder().load()


def test_a_package_without_its_onnx_file_says_to_reinstall(tmp_path, model_dir, monkeypatch):
    """An octomem-minilm-l6-v2 older than the graph octomem runs (before 1.2.0, without
    its int8 graph): reinstall it, or run on torch; its float32 graph is not run."""
    from octomem import embeddings

    old = _copy_model(model_dir, tmp_path / "model")
    (old / BUNDLED_ONNX).unlink()
    monkeypatch.setattr(embeddings, "_bundled_model_dir", lambda model: old)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigurationError) as info:
        LocalEmbedder(backend="onnx").load()
    message = str(info.value)
    assert f"{old / BUNDLED_ONNX} is missing" in message
    assert "pip install --force-reinstall octomem-minilm-l6-v2" in message
    assert "backend='torch'" in message


def test_unbundled_model_name_needs_model_dir():
    with pytest.raises(ConfigurationError, match="not bundled"):
        LocalEmbedder("all-mpnet-base-v2").load()


def test_bad_batch_size():
    with pytest.raises(ConfigurationError, match="batch_size"):
        LocalEmbedder(batch_size=0)


# --- cache -----------------------------------------------------------------------------


class CountingEmbedder:
    """A tiny fake inner embedder, only for checking what the cache forwards."""

    name = "counting"
    dimension = 2

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(len(text)), 1.0] for text in texts]


async def test_cache_computes_each_text_once():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    assert isinstance(cached, Embedder)
    assert (cached.name, cached.dimension) == ("counting", 2)

    first = await cached.embed(["a", "bb", "a"])
    assert first == [[1.0, 1.0], [2.0, 1.0], [1.0, 1.0]]
    assert inner.calls == [["a", "bb"]]

    second = await cached.embed(["ccc", "bb", "a", "dddd"])
    assert second == [[3.0, 1.0], [2.0, 1.0], [1.0, 1.0], [4.0, 1.0]]
    assert inner.calls[1] == ["ccc", "dddd"]

    assert await cached.embed(["a", "bb"]) == [[1.0, 1.0], [2.0, 1.0]]
    assert len(inner.calls) == 2
    assert await cached.embed([]) == []
    assert len(inner.calls) == 2


def _strings_held_by(obj: object, depth: int = 4) -> list[str]:
    """Every str reachable from `obj` in `depth` steps (modules and classes not followed)."""
    seen, found, frontier = {id(obj)}, [], [obj]
    for _ in range(depth):
        following = []
        for item in frontier:
            for ref in gc.get_referents(item):
                if id(ref) in seen or isinstance(ref, (type, types.ModuleType)):
                    continue
                seen.add(id(ref))
                (found if isinstance(ref, str) else following).append(ref)
        frontier = following
    return found


async def test_cache_keeps_no_text():
    """What a user said is not kept in the embedding cache (a forgotten user's words would
    stay in the process until evicted): it holds digests and vectors."""
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    said = "my sister's new address is 12 Quince Lane"
    await cached.embed([said, said + "!"])
    assert await cached.embed([said]) == [[float(len(said)), 1.0]]  # a hit all the same
    assert len(inner.calls) == 1
    inner.calls.clear()  # the test's own record of what it was asked
    assert not [text for text in _strings_held_by(cached) if "Quince" in text]


async def test_a_partition_keeps_each_users_texts_under_keys_of_their_own():
    """Within a tenant's partition a text embedded for one user is no cache hit for another
    user, nor for another partition; the misses of several users go to the model in one
    call, each text once. Outside a partition the users change nothing."""
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    acme, globex = cached.partition("acme"), cached.partition("globex")
    said = ["I have gout", "I have gout", "hello"]
    vectors = await embed_for(acme, said, ["ana", "eve", "ana"])
    assert vectors == [[11.0, 1.0], [11.0, 1.0], [5.0, 1.0]]
    assert inner.calls == [["I have gout", "hello"]]
    await embed_for(acme, ["I have gout", "hello"], ["ana", "eve"])  # ana's: a hit
    assert inner.calls[-1] == ["hello"]
    await embed_for(globex, ["I have gout"], ["ana"])  # another tenant's ana
    await acme.embed(["I have gout"])  # no user's
    assert inner.calls[-2:] == [["I have gout"], ["I have gout"]]
    await embed_for(cached, ["hello"], ["ana"])  # not a partition: one cache for all
    await embed_for(cached, ["hello"], ["eve"])
    assert inner.calls[-1] == ["hello"] and len(inner.calls) == 5
    with pytest.raises(ValueError, match="one user per text"):
        await embed_for(acme, ["a", "b"], ["ana"])


async def test_cache_returns_copies():
    cached = CachedEmbedder(CountingEmbedder())
    [vector] = await cached.embed(["x"])
    vector[0] = 99.0
    assert await cached.embed(["x"]) == [[1.0, 1.0]]


async def test_cache_evicts_least_recently_used():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_entries=2)
    await cached.embed(["a", "b"])
    await cached.embed(["a"])  # a is now most recent
    await cached.embed(["c"])  # evicts b
    assert len(cached) == 2
    await cached.embed(["a", "b"])
    assert inner.calls[-1] == ["b"]


class WideEmbedder:
    """A fake inner embedder with the bundled model's width (384) and no model to load."""

    name = "wide"
    dimension = 384

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[(len(text) + i) / 7 for i in range(self.dimension)] for text in texts]


TEXTS = [f"message number {i} about the quarterly report" for i in range(1500)]


async def _fill(cached: CachedEmbedder) -> int:
    """Embed TEXTS through `cached` in calls of 50; what the process holds afterwards
    that it did not before, by tracemalloc (the cache, as the fake keeps nothing)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for start in range(0, len(TEXTS), 50):
            await cached.embed(TEXTS[start : start + 50])
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


async def test_cached_vectors_are_packed():
    """A 384-number vector costs ~3.3 KB in the cache (packed doubles, with its text);
    as a tuple of Python floats it cost 12 KB, 245 MB at the default 20,000 entries."""
    cached = CachedEmbedder(WideEmbedder(), max_entries=300)
    held = await _fill(cached)
    assert len(cached) == 300
    assert held < 300 * 4096, f"{held / 300:.0f} bytes per cached vector"


async def test_cache_memory_is_bounded_in_bytes():
    cached = CachedEmbedder(WideEmbedder(), max_bytes=512 * 1024)
    held = await _fill(cached)
    assert cached.nbytes <= 512 * 1024
    assert held < 1.1 * 512 * 1024
    assert 100 < len(cached) < 200  # the most recent texts, ~3.3 KB each
    hits = cached.hits
    assert await cached.embed(TEXTS[-1:]) == await WideEmbedder().embed(TEXTS[-1:])
    assert cached.hits == hits + 1  # the newest text was kept: the oldest go first
    assert await cached.embed(TEXTS[:1]) == await WideEmbedder().embed(TEXTS[:1])
    assert cached.hits == hits + 1  # the oldest was not


async def test_cache_gives_back_the_floats_it_was_given():
    cached = CachedEmbedder(WideEmbedder())
    [fresh] = await cached.embed(["x"])
    [again] = await cached.embed(["x"])
    assert cached.hits == 1 and again == fresh and again is not fresh


def test_cache_bound_must_not_be_negative():
    with pytest.raises(ConfigurationError, match="max_bytes"):
        CachedEmbedder(WideEmbedder(), max_bytes=-1)


async def test_cache_with_real_model(local):
    cached = CachedEmbedder(local)
    [a] = await cached.embed(["Alice lives in Paris."])
    [b] = await cached.embed(["Alice lives in Paris."])
    assert a == b
    assert (cached.hits, cached.misses) == (1, 1)


# --- litellm ---------------------------------------------------------------------------

litellm = import_litellm()


class FakeProvider(litellm.CustomLLM):
    """A local litellm provider: no network. The model name picks the behaviour."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    async def aembedding(self, model, input, model_response, *args, **kwargs):
        self.batches.append(list(input))
        if model == "auth":
            raise litellm.AuthenticationError(message="bad key", llm_provider="fake", model=model)
        if model == "ratelimited":
            raise litellm.RateLimitError(message="slow down", llm_provider="fake", model=model)
        if model == "short":
            input = input[:-1]
        dims = 3 if model == "wide" else 2
        model_response.data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t))] + [0.5] * (dims - 1)}
            for i, t in reversed(list(enumerate(input)))
        ]
        return model_response


@pytest.fixture
def fake_provider(monkeypatch) -> FakeProvider:
    provider = FakeProvider()
    monkeypatch.setattr(
        litellm, "custom_provider_map", [{"provider": "fake", "custom_handler": provider}]
    )
    monkeypatch.setattr(litellm, "provider_list", list(litellm.provider_list))
    monkeypatch.setattr(litellm, "_custom_providers", list(litellm._custom_providers))
    return provider


async def test_litellm_batches_and_order(fake_provider):
    embedder = LiteLLMEmbedder("fake/good", batch_size=2)
    with pytest.raises(ConfigurationError, match="pass dimension="):
        _ = embedder.dimension
    vectors = await embedder.embed(["a", "bb", "ccc", "dddd", "e"])
    assert vectors == [[1.0, 0.5], [2.0, 0.5], [3.0, 0.5], [4.0, 0.5], [1.0, 0.5]]
    assert fake_provider.batches == [["a", "bb"], ["ccc", "dddd"], ["e"]]
    assert embedder.dimension == 2


def test_litellm_dimension_sources():
    assert isinstance(LiteLLMEmbedder("fake/x", dimension=8), Embedder)
    assert LiteLLMEmbedder("openai/text-embedding-3-small").dimension == 1536
    assert LiteLLMEmbedder("fake/x", extra={"dimensions": 256}).dimension == 256


@pytest.mark.parametrize(
    ("model", "hint"),
    [
        ("fake/auth", "API key"),
        ("fake/ratelimited", "rate limiting"),
    ],
)
async def test_litellm_errors_are_mapped(fake_provider, model, hint):
    with pytest.raises(LLMError) as info:
        await LiteLLMEmbedder(model).embed(["x"])
    message = str(info.value)
    assert repr(model) in message
    assert hint in message
    assert isinstance(info.value.__cause__, Exception)


async def test_litellm_mock_error_is_mapped():
    embedder = LiteLLMEmbedder("openai/text-embedding-3-small", extra={"mock_response": "error"})
    with pytest.raises(LLMError, match="'openai/text-embedding-3-small' failed"):
        await embedder.embed(["x"])


async def test_litellm_wrong_count_and_dimension(fake_provider):
    with pytest.raises(LLMError, match="returned 1 vectors for 2 texts"):
        await LiteLLMEmbedder("fake/short").embed(["a", "b"])
    with pytest.raises(LLMError, match="returned a 3-dim vector, expected 2"):
        await LiteLLMEmbedder("fake/wide", dimension=2).embed(["a"])


def test_an_embedder_given_to_an_orchestrator_is_the_one_it_uses(tmp_path):
    # a CachedEmbedder with nothing cached yet is falsy (len 0): it must still be shared,
    # not silently replaced by a second model
    from octomem.orchestrator.lifecycle import build_services
    from octomem.settings import load_settings

    shared = CachedEmbedder(LocalEmbedder())
    assert len(shared) == 0
    services = build_services(load_settings(data_dir=tmp_path / "om"), embedder=shared)
    assert services.embedder is shared
