"""The local embedder on ONNX Runtime: a graph built from the weights without torch, the
same vectors as sentence-transformers, cached safely.

The comparisons need sentence-transformers (`octomem[torch]`, in the dev extra that `make
test` installs); the rest runs without it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from octomem import embeddings_bert, embeddings_onnx
from octomem.embeddings import Embedder, LocalEmbedder
from octomem.embeddings_onnx import MAX_GROUP, _length_groups, supports_onnx
from octomem.errors import ConfigurationError
from octomem.orchestrator.lifecycle import build_embedder
from octomem.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
CACHE_NAME = f"53aa51172d142c89-2b1cf0de-{embeddings_onnx.BUILD}.onnx"
LOCK_NAME = f".{CACHE_NAME}.lock"  # held while one process builds it


@pytest.fixture(scope="module")
def model_dir() -> Path:
    import octomem_minilm_l6_v2

    return Path(octomem_minilm_l6_v2.MODEL_DIR)


@pytest.fixture(scope="module")
def on_onnx(onnx_cache: Path, embedder: Embedder) -> LocalEmbedder:
    """On the session's cache dir (shared with the other tests and workers: exported once
    per run, by the `embedder` fixture)."""
    embedder = LocalEmbedder(backend="onnx", onnx_cache_dir=onnx_cache)
    assert embedder.load() == "onnx"
    return embedder


@pytest.fixture(scope="module")
def on_torch() -> LocalEmbedder:
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    embedder = LocalEmbedder(backend="torch")
    assert embedder.load() == "torch"
    return embedder


def embed(embedder: LocalEmbedder, texts: list[str]) -> np.ndarray:
    return np.array(asyncio.run(embedder.embed(texts)))


def must_not_load(*args, **kwargs):
    raise AssertionError("torch / sentence-transformers must not be used here")


def linked_model(src: Path, dst: Path, replace: dict[str, str | None]) -> Path:
    """A model dir of symlinks to src's files, except the `replace`d (None: removed) ones."""
    for file in src.rglob("*"):
        if file.is_file():
            link = dst / file.relative_to(src)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file)
    for name, text in replace.items():
        (dst / name).unlink()
        if text is not None:
            (dst / name).write_text(text)
    return dst


def token_count(model_dir: Path, text: str) -> int:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return len(tokenizer.encode(text).ids)


# --- same vectors ----------------------------------------------------------------------

SHORT = ["hello", "", "Alice moved to Paris in 2023.", "Café, naïve, 東京 🙂"]
LONG = " ".join(f"Sentence {i} says something about topic {i % 7}." for i in range(60))
VARIED = [
    *SHORT,
    LONG,  # truncated to 256 tokens
    LONG[:500],
    "   ",
    "\n\t",
    "Привет, как дела? Я переехал в Берлин.",
    "مرحبا، انتقلت إلى القاهرة الشهر الماضي",
    "मैं अगले साल मुंबई जा रहा हूँ",
    "東京タワーの近くに住んでいます。ラーメンが好きです。",
    "서울에서 커피를 마셨어요",
    "Ελληνικά: Η Αθήνα είναι όμορφη",
    "🙂🙂🙂 😀 👍🏽",
    "I'm allergic to peanuts!!! (don't forget) — 100% sure; email: a@b.co",
    "x" * 3000,
    "word " * 255,  # just under, at and over the truncation length
    "word " * 256,
    "word " * 400,
]


def test_onnx_vectors_equal_sentence_transformers(on_onnx, on_torch, model_dir):
    assert token_count(model_dir, LONG) > 300  # truncated to 256 by both
    onnx_batched, torch_batched = embed(on_onnx, VARIED), embed(on_torch, VARIED)
    onnx_singles = np.vstack([embed(on_onnx, [text]) for text in VARIED])
    assert onnx_batched.shape == (len(VARIED), 384)
    assert np.abs(onnx_batched - torch_batched).max() < 1e-5
    assert np.abs(onnx_singles - torch_batched).max() < 1e-5
    assert np.allclose(np.linalg.norm(onnx_batched, axis=1), 1.0, atol=1e-5)


def test_cls_pooling_equals_sentence_transformers(model_dir, tmp_path):
    """bge-style models pool the [CLS] token; the same weights with CLS pooling agree."""
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    copy = linked_model(model_dir, tmp_path / "cls", {"1_Pooling/config.json": json.dumps(pooling)})
    cache = tmp_path / "cache"
    onnx = LocalEmbedder(model_dir=copy, backend="onnx", onnx_cache_dir=cache)
    torch = LocalEmbedder(model_dir=copy, backend="torch")
    texts = VARIED[:8]
    assert np.abs(embed(onnx, texts) - embed(torch, texts)).max() < 1e-5
    mean = embed(LocalEmbedder(onnx_cache_dir=cache), texts)  # another model, another file
    assert np.abs(mean - embed(onnx, texts)).max() > 1e-2
    assert len(list(cache.glob("*.onnx"))) == 2


def test_rows_keep_input_order_across_length_groups(on_onnx, on_torch, model_dir):
    """encode sorts texts by length into groups; rows come back in input order."""
    import random

    texts = [f"turn {i}: " + "word " * ((i * 37) % 90) for i in range(21)]
    assert len(_length_groups(sorted(token_count(model_dir, t) for t in texts))) > 2
    random.Random(5).shuffle(texts)
    batched = embed(on_onnx, texts)
    assert np.abs(batched - embed(on_torch, texts)).max() < 1e-5
    assert np.abs(batched - np.vstack([embed(on_onnx, [t]) for t in texts])).max() < 1e-6


def test_length_groups_pad_little_and_call_rarely():
    assert _length_groups([12] * 20) == [range(0, 20)]  # alike: one call
    assert _length_groups([8, 9, 10, 200]) == [range(0, 3), range(3, 4)]  # no 200-padding
    groups = _length_groups(list(range(1, 300, 7)))
    assert [i for g in groups for i in g] == list(range(len(range(1, 300, 7))))
    groups = _length_groups([5] * 1000)  # a huge batch_size: bounded groups and work
    assert len(groups) == -(-1000 // MAX_GROUP) and max(map(len, groups)) <= MAX_GROUP
    assert [i for g in groups for i in g] == list(range(1000))


def test_truncates_at_max_seq_length_not_tokenizer_json(on_onnx):
    """sentence_bert_config.json says 256 tokens; tokenizer.json's own 128 must not apply."""
    prefix = "apple " * 150
    differ_at_151 = embed(on_onnx, [prefix + "banana " * 200, prefix + "cherry " * 200])
    assert np.abs(differ_at_151[0] - differ_at_151[1]).max() > 1e-3
    prefix = "apple " * 300
    differ_at_301 = embed(on_onnx, [prefix + "banana", prefix + "cherry"])
    assert np.array_equal(differ_at_301[0], differ_at_301[1])


def test_batch_size_chunks_give_the_same_vectors(on_onnx, onnx_cache):
    texts = [f"note {i}: " + "word " * (i * 7) for i in range(9)]
    small = LocalEmbedder(batch_size=2, onnx_cache_dir=onnx_cache)
    assert np.abs(embed(small, texts) - embed(on_onnx, texts)).max() < 1e-6
    assert small.active_backend == "onnx"


# --- the cache -------------------------------------------------------------------------


def test_second_embedder_reuses_the_cached_file(on_onnx, onnx_cache, monkeypatch):
    path = onnx_cache / CACHE_NAME
    names = {p.name for p in onnx_cache.iterdir()}
    assert CACHE_NAME in names and not [n for n in names if n.endswith(".tmp")]
    before = path.stat().st_mtime_ns
    monkeypatch.setattr(embeddings_bert, "build", must_not_load)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    second = LocalEmbedder(onnx_cache_dir=onnx_cache)
    assert second.load() == "onnx"
    assert path.stat().st_mtime_ns == before
    assert np.array_equal(embed(second, ["hi there"]), embed(on_onnx, ["hi there"]))


NO_TORCH = (
    "import sys\n"
    "for name in ('torch', 'sentence_transformers', 'transformers'):\n"
    "    sys.modules[name] = None  # any import of them fails\n"
)


def run_without_torch(cache: Path) -> str:
    code = NO_TORCH + (
        "import asyncio\n"
        "from octomem.embeddings import LocalEmbedder\n"
        "e = LocalEmbedder(onnx_cache_dir=sys.argv[1])\n"
        "[v] = asyncio.run(e.embed(['hello']))\n"
        "print('RESULT', e.active_backend, len(v), round(sum(x * x for x in v), 4))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(cache)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=True,
    )
    [result] = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    return result


def test_builds_and_runs_without_torch(tmp_path):
    """The default model from an empty cache, then from the cache, with torch unimportable."""
    cache = tmp_path / "cache"
    assert run_without_torch(cache) == "RESULT onnx 384 1.0"
    assert sorted(p.name for p in cache.iterdir()) == [LOCK_NAME, CACHE_NAME]
    built = (cache / CACHE_NAME).stat().st_mtime_ns
    assert run_without_torch(cache) == "RESULT onnx 384 1.0"
    assert (cache / CACHE_NAME).stat().st_mtime_ns == built


def test_corrupt_cached_file_is_replaced(on_onnx, onnx_cache, tmp_path):
    good = onnx_cache / CACHE_NAME
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_NAME).write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    abandoned = cache / f".0123456789abcdef-seq256-{embeddings_onnx.BUILD}.onnx.k.tmp"
    abandoned.write_bytes(b"x" * 1000)  # of another model, left by a killed build
    os.utime(abandoned, (1, 1))
    running = cache / f".{CACHE_NAME}.running.tmp"  # another process building right now
    running.write_bytes(b"x")
    embedder = LocalEmbedder(backend="onnx", onnx_cache_dir=cache)
    assert embedder.load() == "onnx"
    assert sorted(p.name for p in cache.iterdir()) == [LOCK_NAME, running.name, CACHE_NAME]
    assert (cache / CACHE_NAME).read_bytes() == good.read_bytes()
    assert np.array_equal(embed(embedder, SHORT), embed(on_onnx, SHORT))


def test_a_start_from_the_cache_removes_an_abandoned_build(onnx_cache, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copyfile(onnx_cache / CACHE_NAME, cache / CACHE_NAME)
    abandoned = cache / f".{CACHE_NAME}.killed.tmp"  # the first start was killed
    abandoned.write_bytes(b"x" * 1000)
    os.utime(abandoned, (1, 1))
    assert LocalEmbedder(backend="onnx", onnx_cache_dir=cache).load() == "onnx"
    assert [p.name for p in cache.iterdir()] == [CACHE_NAME]


def test_embedders_starting_together_build_the_graph_once(onnx_cache, tmp_path, monkeypatch):
    """Two loads of the same model into an empty cache dir at once (threads here; the lock
    is a file lock, so processes too, as the server's workers and xdist's do): the second
    waits for the first's build and loads its file, and no temp file is left beside it."""
    cache = tmp_path / "cache"
    real = embeddings_bert.build
    builds: list[str] = []
    both_in = threading.Barrier(2)

    def build(model_dir):
        builds.append(threading.current_thread().name)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_in.wait(timeout=3)  # passes only if the other thread builds at the same time
        return real(model_dir)

    monkeypatch.setattr(embeddings_bert, "build", build)
    embedders = [LocalEmbedder(backend="onnx", onnx_cache_dir=cache) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(LocalEmbedder.load, embedders)) == ["onnx", "onnx"]
    assert len(builds) == 1
    assert sorted(p.name for p in cache.iterdir()) == [LOCK_NAME, CACHE_NAME]
    assert (cache / CACHE_NAME).read_bytes() == (onnx_cache / CACHE_NAME).read_bytes()
    assert np.array_equal(embed(embedders[0], SHORT), embed(embedders[1], SHORT))


def test_unwritable_cache_dir_builds_in_memory(on_onnx, tmp_path, caplog):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    embedder = LocalEmbedder(backend="onnx", onnx_cache_dir=blocked / "onnx")
    with caplog.at_level("INFO", logger="octomem"):
        assert embedder.load() == "onnx"
    assert any(r.getMessage().startswith("embedder.onnx_not_cached") for r in caplog.records)
    assert np.array_equal(embed(embedder, SHORT), embed(on_onnx, SHORT))
    assert blocked.read_text() == "not a directory"


async def test_onnx_session_created_once_under_concurrency(on_onnx, onnx_cache, monkeypatch):
    import onnxruntime

    real = onnxruntime.InferenceSession
    made: list[str] = []

    def counting(*args, **kwargs):
        made.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", counting)
    embedder = LocalEmbedder(onnx_cache_dir=onnx_cache)
    results = await asyncio.gather(*(embedder.embed([f"text {i}"]) for i in range(6)))
    assert len(results) == 6
    assert made == [str(onnx_cache / CACHE_NAME)]


# --- when ONNX cannot be used ------------------------------------------------------------


@pytest.mark.parametrize("missing", ["onnxruntime", "onnx"])
def test_onnx_backend_without_packages_says_what_to_install(missing, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, missing, None)  # import fails
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    embedder = LocalEmbedder(backend="onnx", onnx_cache_dir=tmp_path)  # nothing cached
    with pytest.raises(ConfigurationError, match="pip install onnx onnxruntime") as info:
        embedder.load()
    assert missing in str(info.value)


def test_auto_without_onnxruntime_uses_torch(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    embedder = LocalEmbedder(onnx_cache_dir=tmp_path)
    assert embedder.load() == "torch"
    assert len(embed(embedder, ["hello"])[0]) == 384


MAX_POOLING = {
    "1_Pooling/config.json": json.dumps(
        {
            "word_embedding_dimension": 384,
            "pooling_mode_mean_tokens": False,
            "pooling_mode_max_tokens": True,
        }
    )
}


def test_unsupported_model_uses_torch_on_auto(model_dir, tmp_path):
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    copy = linked_model(model_dir, tmp_path / "max", MAX_POOLING)
    cache = tmp_path / "cache"
    auto = LocalEmbedder(model_dir=copy, onnx_cache_dir=cache)
    assert auto.load() == "torch"
    assert len(embed(auto, ["hello"])[0]) == 384
    assert not cache.exists()
    with pytest.raises(ConfigurationError, match="not mean-tokens or cls-token"):
        LocalEmbedder(model_dir=copy, backend="onnx", onnx_cache_dir=cache).load()


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_a_model_that_needs_torch_names_the_extra(backend, model_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # torch not installed
    copy = linked_model(model_dir, tmp_path / "max", MAX_POOLING)
    embedder = LocalEmbedder(model_dir=copy, backend=backend, onnx_cache_dir=tmp_path / "c")
    with pytest.raises(ConfigurationError, match=r"pip install 'octomem\[torch\]'") as info:
        embedder.load()
    if backend == "auto":  # and why ONNX Runtime cannot run it
        assert "not mean-tokens or cls-token" in str(info.value)


def test_onnx_backend_runs_on_cpu_only(tmp_path):
    with pytest.raises(ConfigurationError, match="CPU only"):
        LocalEmbedder(backend="onnx", device="cuda", onnx_cache_dir=tmp_path).load()


DENSE = '[{"type": "x.Transformer"}, {"type": "x.Pooling"}, {"type": "x.Dense"}]'


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"modules.json": DENSE}, "Dense"),
        (MAX_POOLING, "not mean-tokens or cls-token"),
        ({"sentence_bert_config.json": '{"do_lower_case": false}'}, "max_seq_length"),
        ({"sentence_bert_config.json": None}, "sentence_bert_config.json"),
        ({"tokenizer.json": None}, "tokenizer.json is missing"),
        ({"config.json": '{"model_type": "roberta"}'}, "model_type is 'roberta'"),
        ({"config.json": '{"model_type": "bert", "hidden_act": "relu"}'}, "hidden_act"),
        ({"config.json": '{"model_type": "bert"}'}, "hidden_size"),
    ],
)
def test_supports_onnx_names_the_reason(model_dir, tmp_path, change, reason):
    assert supports_onnx(model_dir) is None
    assert reason in supports_onnx(linked_model(model_dir, tmp_path / "m", change))


def test_weights_the_graph_needs_are_checked(model_dir, tmp_path):
    """A safetensors file without a tensor the graph needs: a clear error, not a crash."""
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(model_dir / "model.safetensors"))
    del weights["encoder.layer.3.output.dense.bias"]
    copy = linked_model(model_dir, tmp_path / "m", {"model.safetensors": None})
    save_file(weights, str(copy / "model.safetensors"))
    embedder = LocalEmbedder(
        model_dir=copy, backend="onnx", expected_sha256=None, onnx_cache_dir=tmp_path / "c"
    )
    with pytest.raises(ConfigurationError, match="encoder.layer.3.output.dense.bias"):
        embedder.load()


def test_settings_choose_backend_and_cache_dir(tmp_path):
    settings = load_settings(
        embedder={"provider": "local", "backend": "torch", "onnx_cache_dir": str(tmp_path)}
    )
    inner = build_embedder(settings).inner  # type: ignore[attr-defined]
    assert (inner.backend, inner.onnx_cache_dir) == ("torch", tmp_path)
    with pytest.raises(ConfigurationError, match="backend"):
        LocalEmbedder(backend="tensorflow")  # type: ignore[arg-type]
