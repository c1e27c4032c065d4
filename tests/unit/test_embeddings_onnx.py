"""The local embedder on ONNX Runtime: the ONNX files the model's package ships, run without
torch or the onnx package - its float32 graph gives the vectors of sentence-transformers,
its int8 graph (the one octomem runs) vectors close to them, each text's whatever it is
embedded with; nothing is built or written at run time.

The comparisons need sentence-transformers (`octomem[torch]`, in the dev extra that `make
test` installs); the rest runs without it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from octomem.embeddings import (
    BUNDLED_MODEL_SHA256,
    BUNDLED_ONNX,
    BUNDLED_ONNX_SHA256,
    LocalEmbedder,
)
from octomem.embeddings_onnx import (
    MAX_GROUP,
    OnnxEncoder,
    OnnxUnavailableError,
    _length_groups,
    read_setup,
)
from octomem.errors import ConfigurationError
from octomem.orchestrator.lifecycle import build_embedder
from octomem.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    import octomem_minilm_l6_v2

    return Path(octomem_minilm_l6_v2.MODEL_DIR)


@pytest.fixture(scope="module")
def on_onnx() -> LocalEmbedder:
    embedder = LocalEmbedder(backend="onnx")
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


@pytest.fixture(scope="module")
def float32(model_dir: Path) -> OnnxEncoder:
    """The package's float32 graph, model.onnx (octomem runs its int8 one)."""
    return OnnxEncoder(model_dir / "model.onnx", model_dir)


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


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


# --- the shipped file ------------------------------------------------------------------


def test_the_package_ships_the_checked_graph_and_weights(model_dir):
    import octomem_minilm_l6_v2 as package

    assert (package.INT8_FILE, package.INT8_SHA256, package.WEIGHTS_SHA256) == (
        BUNDLED_ONNX,
        BUNDLED_ONNX_SHA256,
        BUNDLED_MODEL_SHA256,
    )
    # the float32 graph holds no weights: they are read from model.safetensors, stored
    # once; the int8 graph holds its linear layers' int8 weights (~11M), and reads the rest
    assert (model_dir / package.ONNX_FILE).stat().st_size < 100_000
    assert (model_dir / package.INT8_FILE).stat().st_size < 12_000_000


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


def test_the_float32_graph_equals_sentence_transformers(on_torch, model_dir, float32):
    assert token_count(model_dir, LONG) > 300  # truncated to 256 by both
    torch_batched = embed(on_torch, VARIED)
    singles = np.vstack([float32.encode([text]) for text in VARIED])
    assert np.abs(float32.encode(VARIED) - torch_batched).max() < 1e-5
    assert np.abs(singles - torch_batched).max() < 1e-5


def test_the_int8_graph_is_close_to_sentence_transformers(on_onnx, on_torch, model_dir):
    """What octomem runs: each vector within cosine 0.97 of the float32 model's (0.99 on
    average), and a text's vector the same alone or in a batch of others (each token is
    quantized on a scale of its own, not on one the batch shares)."""
    onnx_batched, torch_batched = embed(on_onnx, VARIED), embed(on_torch, VARIED)
    onnx_singles = np.vstack([embed(on_onnx, [text]) for text in VARIED])
    assert onnx_batched.shape == (len(VARIED), 384)
    similar = row_cosines(onnx_batched, torch_batched)
    assert similar.min() > 0.97 and similar.mean() > 0.985, similar
    assert np.abs(onnx_singles - onnx_batched).max() < 1e-6
    assert np.allclose(np.linalg.norm(onnx_batched, axis=1), 1.0, atol=1e-5)
    # it ranks as the float32 model ranks: each text's nearest other text is the same
    ours, theirs = onnx_batched @ onnx_batched.T, torch_batched @ torch_batched.T
    np.fill_diagonal(ours, -2)
    np.fill_diagonal(theirs, -2)
    same = np.argmax(ours, axis=1) == np.argmax(theirs, axis=1)
    assert same.mean() > 0.85, same


def test_cls_pooling_equals_sentence_transformers(model_dir, tmp_path, float32):
    """bge-style models pool the [CLS] token; the same weights with CLS pooling agree."""
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    replace = {"1_Pooling/config.json": json.dumps(pooling), BUNDLED_ONNX: None}
    copy = linked_model(model_dir, tmp_path / "cls", replace)  # its float32 graph
    onnx = LocalEmbedder(model_dir=copy, expected_sha256=None, backend="onnx")
    torch = LocalEmbedder(model_dir=copy, backend="torch")
    texts = VARIED[:8]
    assert np.abs(embed(onnx, texts) - embed(torch, texts)).max() < 1e-5
    mean = float32.encode(texts)  # the same graph, pooled by the mean
    assert np.abs(mean - embed(onnx, texts)).max() > 1e-2


def test_rows_keep_input_order_across_length_groups(on_onnx, on_torch, model_dir):
    """encode sorts texts by length into groups; rows come back in input order."""
    import random

    texts = [f"turn {i}: " + "word " * ((i * 37) % 90) for i in range(21)]
    assert len(_length_groups(sorted(token_count(model_dir, t) for t in texts))) > 2
    random.Random(5).shuffle(texts)
    batched = embed(on_onnx, texts)
    assert row_cosines(batched, embed(on_torch, texts)).min() > 0.97
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


def test_batch_size_chunks_give_the_same_vectors(on_onnx):
    texts = [f"note {i}: " + "word " * (i * 7) for i in range(9)]
    small = LocalEmbedder(batch_size=2)
    assert np.abs(embed(small, texts) - embed(on_onnx, texts)).max() < 1e-6
    assert small.active_backend == "onnx"


# --- nothing built, nothing written ---------------------------------------------------

BLOCKED = (
    "import sys\n"
    "for name in ('torch', 'sentence_transformers', 'transformers', 'onnx', 'filelock',\n"
    "             'safetensors'):\n"
    "    sys.modules[name] = None  # any import of them fails\n"
)


def test_first_start_runs_without_torch_or_onnx_and_writes_nothing(tmp_path):
    """The default model in a fresh process, with torch, the onnx package, filelock and
    safetensors unimportable and an empty cache dir: it embeds, writes no graph in the
    cache dir (onnxruntime's import keeps its own telemetry id there) and nothing in its
    working directory."""
    code = BLOCKED + (
        "import asyncio\n"
        "from octomem.embeddings import LocalEmbedder\n"
        "e = LocalEmbedder()\n"
        "[v] = asyncio.run(e.embed(['hello']))\n"
        "print('RESULT', e.active_backend, len(v), round(sum(x * x for x in v), 4))\n"
    )
    cache, work = tmp_path / "cache", tmp_path / "work"
    cache.mkdir()
    work.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HOME": str(tmp_path / "home")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env=env,
        check=True,
    )
    [result] = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert result == "RESULT onnx 384 1.0"
    assert not (cache / "octomem").exists() and not list(cache.rglob("*.onnx"))
    assert list(work.iterdir()) == []
    assert not (tmp_path / "home").exists()


async def test_onnx_session_created_once_under_concurrency(model_dir, monkeypatch):
    import onnxruntime

    real = onnxruntime.InferenceSession
    made: list[str] = []

    def counting(*args, **kwargs):
        made.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", counting)
    embedder = LocalEmbedder()
    results = await asyncio.gather(*(embedder.embed([f"text {i}"]) for i in range(6)))
    assert len(results) == 6
    assert made == [str(model_dir / BUNDLED_ONNX)]


def test_an_onnx_file_in_onnx_folder_is_found(model_dir, tmp_path, float32):
    """A model dir of one's own laid out as Hugging Face's sentence-transformers
    repositories are: the ONNX export in onnx/model.onnx."""
    copy = linked_model(model_dir, tmp_path / "hub", {"model.onnx": None, BUNDLED_ONNX: None})
    (copy / "onnx").mkdir()
    for name in ("model.onnx", "model.safetensors"):  # the graph's weights are beside it
        (copy / "onnx" / name).symlink_to(model_dir / name)
    embedder = LocalEmbedder(model_dir=copy, expected_sha256=None, backend="onnx")
    texts = ["hello", "Alice moved to Paris in 2023."]
    assert np.array_equal(embed(embedder, texts), float32.encode(texts))


# --- when ONNX cannot be used ------------------------------------------------------------


def test_onnx_backend_without_onnxruntime_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigurationError, match="pip install onnxruntime") as info:
        LocalEmbedder(backend="onnx").load()
    assert "backend='torch'" in str(info.value) and "octomem[torch]" in str(info.value)


def test_auto_without_onnxruntime_uses_torch(monkeypatch):
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    embedder = LocalEmbedder()
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
    auto = LocalEmbedder(model_dir=copy)
    assert auto.load() == "torch"
    assert len(embed(auto, ["hello"])[0]) == 384
    with pytest.raises(ConfigurationError, match="not mean-tokens or cls-token"):
        LocalEmbedder(model_dir=copy, backend="onnx").load()


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_a_model_that_needs_torch_names_the_extra(backend, model_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # torch not installed
    copy = linked_model(model_dir, tmp_path / "max", MAX_POOLING)
    embedder = LocalEmbedder(model_dir=copy, backend=backend)
    with pytest.raises(ConfigurationError, match=r"pip install 'octomem\[torch\]'") as info:
        embedder.load()
    if backend == "auto":  # and why ONNX Runtime cannot run it
        assert "not mean-tokens or cls-token" in str(info.value)


def test_onnx_backend_runs_on_cpu_only():
    with pytest.raises(ConfigurationError, match="CPU only"):
        LocalEmbedder(backend="onnx", device="cuda").load()


def own_bert_model(model_dir: Path, into: Path) -> Path:
    """A model dir of one's own as octomem built a graph from before: safetensors weights,
    no ONNX file."""
    return linked_model(model_dir, into, {"model.onnx": None, BUNDLED_ONNX: None})


def test_own_model_without_onnx_file_runs_on_torch(model_dir, tmp_path, float32):
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    copy = own_bert_model(model_dir, tmp_path / "own")
    auto = LocalEmbedder(model_dir=copy, expected_sha256=None)
    assert auto.load() == "torch"
    assert np.abs(embed(auto, VARIED[:6]) - float32.encode(VARIED[:6])).max() < 1e-5


@pytest.mark.parametrize("backend", ["auto", "onnx"])
def test_own_model_without_onnx_file_names_both_options(backend, model_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # torch not installed
    copy = own_bert_model(model_dir, tmp_path / "own")
    embedder = LocalEmbedder(model_dir=copy, expected_sha256=None, backend=backend)
    with pytest.raises(ConfigurationError) as info:
        embedder.load()
    message = str(info.value)
    assert f"{copy} has no ONNX file ({BUNDLED_ONNX} or model.onnx or onnx/model.onnx)" in message
    assert "pip install 'octomem[torch]'" in message


def test_a_file_that_does_not_load_is_a_configuration_error(model_dir, tmp_path):
    copy = linked_model(model_dir, tmp_path / "m", {BUNDLED_ONNX: "not an onnx graph"})
    with pytest.raises(ConfigurationError, match="could not load the embedding model"):
        LocalEmbedder(model_dir=copy, expected_sha256=None).load()


DENSE = '[{"type": "x.Transformer"}, {"type": "x.Pooling"}, {"type": "x.Dense"}]'


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"modules.json": DENSE}, "Dense"),
        (MAX_POOLING, "not mean-tokens or cls-token"),
        ({"sentence_bert_config.json": '{"do_lower_case": false}'}, "max_seq_length"),
        ({"sentence_bert_config.json": None}, "sentence_bert_config.json"),
    ],
)
def test_a_configuration_the_encoder_cannot_run_names_the_reason(
    model_dir, tmp_path, change, reason
):
    assert read_setup(model_dir).pooling == "mean"
    with pytest.raises(OnnxUnavailableError, match=reason):
        read_setup(linked_model(model_dir, tmp_path / "m", change))


def test_settings_choose_backend_and_refuse_the_old_cache_dir():
    settings = load_settings(embedder={"provider": "local", "backend": "torch"})
    assert build_embedder(settings).inner.backend == "torch"  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="onnx_cache_dir: unknown key"):
        load_settings(embedder={"provider": "local", "onnx_cache_dir": "/tmp/onnx"})
    with pytest.raises(ConfigurationError, match="backend"):
        LocalEmbedder(backend="tensorflow")  # type: ignore[arg-type]


def test_a_model_loaded_early_is_loaded_once_and_embeds_the_same(model_dir, monkeypatch):
    """`load_early` (the command line's, while its stores open): the first call waits for
    that load, no second session is made, and the vectors are the model's."""
    import onnxruntime

    from octomem.embeddings import load_early

    real = onnxruntime.InferenceSession
    made: list[str] = []
    monkeypatch.setattr(
        onnxruntime, "InferenceSession", lambda *a, **k: made.append(a[0]) or real(*a, **k)
    )
    embedder = build_embedder(load_settings())
    thread = load_early(embedder)
    assert thread is not None
    vectors = asyncio.run(embedder.embed(["hello", "Alice moved to Paris in 2023."]))
    thread.join()
    assert made == [str(model_dir / BUNDLED_ONNX)]
    expected = embed(LocalEmbedder(), ["hello", "Alice moved to Paris in 2023."])
    assert np.array_equal(np.array(vectors), expected)
    assert load_early(embedder) is None  # loaded: nothing to start


def test_a_corrupt_model_loaded_early_fails_at_the_first_call(model_dir, tmp_path):
    """The early load's error is not lost in its thread: the call that needs the model
    raises it, as it would have without the early load."""
    from octomem.embeddings import load_early

    copy = linked_model(model_dir, tmp_path / "bad", {"tokenizer.json": "{}"})
    embedder = LocalEmbedder(model_dir=copy, expected_sha256=None, backend="onnx")
    thread = load_early(embedder)
    assert thread is not None
    thread.join()
    assert embedder.active_backend is None
    with pytest.raises(ConfigurationError, match="could not load the embedding model"):
        asyncio.run(embedder.embed(["hello"]))


def test_threads_setting_reaches_the_session_and_keeps_the_vectors(on_onnx, monkeypatch):
    """`embedder.threads` (OCTOMEM_EMBEDDER__THREADS) is what one call of the model runs
    on; the vectors are the same with any number."""
    monkeypatch.setenv("OCTOMEM_EMBEDDER__THREADS", "1")
    embedder = build_embedder(load_settings()).inner  # type: ignore[attr-defined]
    assert embedder.load() == "onnx"
    options = embedder._onnx.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert on_onnx._onnx.session.get_session_options().intra_op_num_threads != 1 or (
        (os.cpu_count() or 1) == 1
    )
    np.testing.assert_allclose(embed(embedder, VARIED), embed(on_onnx, VARIED), atol=1e-5)


@pytest.mark.parametrize("threads", [0, 65, True, 2.5])
def test_threads_out_of_range_is_a_configuration_error(threads, monkeypatch):
    with pytest.raises(ConfigurationError, match="threads"):
        LocalEmbedder(threads=threads)
    monkeypatch.setenv("OCTOMEM_EMBEDDER__THREADS", str(threads))
    with pytest.raises(ConfigurationError, match="threads"):
        load_settings()
