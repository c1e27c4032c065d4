"""Run a sentence-transformers BERT model (Transformer + mean or CLS Pooling) on ONNX Runtime.

The ONNX graph is built from the model's safetensors weights by `embeddings_bert` (no
torch) and cached as `{cache_dir}/{weights_sha256[:16]}-{graph_key}-{BUILD}.onnx` (named
by the weights, the pooling and sizes the graph was built for, and the builder's
version), written to a temp file and moved into place atomically, so a cached file is
always a whole one; processes that start together build it once, in turn (a lock file
beside it). Where the cache is not writable the graph is built in memory on
every start (about a second). Running it needs onnxruntime and tokenizers only.

A ready-made ONNX file (bge-small-en-v1.5's int8 graph) is loaded as it is, with CLS
pooling and L2 normalisation appended to its graph at load time (`load_pooled`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock, Timeout

from octomem import embeddings_bert
from octomem.embeddings_bert import INPUT_NAMES, max_seq_length
from octomem.logs import get_logger
from octomem.settings import user_cache_dir

if TYPE_CHECKING:
    from tokenizers import Encoding

log = get_logger(__name__)

# names the graph builder's output: a change to embeddings_bert that changes the graph
# (not only its speed) must change it, so no cache keeps a stale graph
BUILD = f"bert1-opset{embeddings_bert.OPSET}"
STALE_EXPORT_S = 3600  # a build takes seconds; a temp file this old was abandoned
BUILD_WAIT_S = 600  # for another process's build of the same file, then build here too
CALL_COST = 64  # one inference's fixed cost, in padded tokens (measured: 32-64 best)
MAX_GROUP = 64  # texts per inference at most


class OnnxUnavailableError(Exception):
    """ONNX cannot be used here; the message says why."""


def supports_onnx(model_dir: Path) -> str | None:
    """None if the model can run on ONNX Runtime; else why it cannot."""
    return embeddings_bert.unsupported_reason(model_dir)


def default_cache_dir() -> Path:
    return user_cache_dir() / "octomem" / "onnx"


def cache_file(cache_dir: Path, weights_sha256: str, model_dir: Path) -> Path:
    """Named by the weights and by the graph's shape (pooling, sizes) and builder version."""
    key = embeddings_bert.graph_key(model_dir)
    return cache_dir / f"{weights_sha256[:16]}-{key}-{BUILD}.onnx"


def _default_threads() -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, 4))


class OnnxEncoder:
    """An ONNX model (a file, or its bytes) plus the model dir's tokenizer: texts in, unit
    vectors out."""

    def __init__(self, model: Path | bytes, model_dir: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or _default_threads()
        options.log_severity_level = 3  # errors only
        # idle threads must not spin: on few cores they starve the stores' threads that
        # run beside a query's embedding (recall p50 at 10k: 18.8 -> 16.5 ms, p95 30 -> 22)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = str(model) if isinstance(model, Path) else model
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        where = model if isinstance(model, Path) else "the built model"
        self.inputs = [i.name for i in self.session.get_inputs()]
        if unknown := set(self.inputs) - set(INPUT_NAMES):
            raise ValueError(f"{where} expects unknown inputs {sorted(unknown)}")
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        pad = tokenizer.padding or {}
        self._pad = {  # encode pads each group to its longest (not to tokenizer.json's 128)
            "pad_id": pad.get("pad_id", 0),
            "pad_type_id": pad.get("pad_type_id", 0),
            "pad_token": pad.get("pad_token", "[PAD]"),
            "direction": pad.get("direction", "right"),
        }
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_seq_length(model_dir))
        self.tokenizer = tokenizer
        probe = self.encode(["hello"])  # a file that loads but computes nonsense fails here
        if probe.ndim != 2 or probe.shape[0] != 1 or not np.isfinite(probe).all():
            raise ValueError(f"{where} returned an array of shape {probe.shape} for one text")
        self.dimension = int(probe.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One normalized float32 row per text (a thread may call this concurrently)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        # shortest first, in groups each padded to its own longest: a batch of conversation
        # turns padded to its longest one spent most of its time on padding
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(encodings)), key=lengths.__getitem__)
        out: np.ndarray | None = None
        for group in _length_groups([lengths[i] for i in order]):
            rows = [order[i] for i in group]
            width = lengths[rows[-1]]
            for i in rows:
                encodings[i].pad(width, **self._pad)
            vectors = self._run([encodings[i] for i in rows])
            if out is None:
                out = np.empty((len(encodings), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.empty((0, 0), dtype=np.float32)

    def _run(self, encodings: Sequence[Encoding]) -> np.ndarray:
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feeds = {name: np.asarray(columns[name], dtype=np.int64) for name in self.inputs}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)


def _length_groups(lengths: Sequence[int]) -> list[range]:
    """Split ascending token counts into runs that minimise the tokens computed: each run
    is padded to its last (longest) length and costs CALL_COST tokens more per call.
    Runs hold at most MAX_GROUP texts, which also bounds the search to n * MAX_GROUP."""
    n = len(lengths)
    best = [0.0] + [math.inf] * n  # best[j]: cost of the first j texts
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - MAX_GROUP), j):
            cost = best[i] + CALL_COST + (j - i) * lengths[j - 1]
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j > 0:
        groups.append(range(cut[j], j))
        j = cut[j]
    return groups[::-1]


def load_or_build(model_dir: Path, weights_sha256: str, cache_dir: Path) -> OnnxEncoder:
    """The cached ONNX model, else build it from the weights (and cache it when the cache
    dir is writable). Raises OnnxUnavailableError saying why ONNX cannot be used."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailableError(f"onnxruntime is not installed ({exc})") from exc
    if reason := supports_onnx(model_dir):
        raise OnnxUnavailableError(reason)
    path = cache_file(cache_dir, weights_sha256, model_dir)
    _remove_stale_exports(cache_dir)
    if encoder := _load_cached(path, model_dir):
        return encoder
    with _building(path):  # processes starting together build it once, in turn
        if encoder := _load_cached(path, model_dir):  # built while this one waited
            return encoder
        return _build(path, model_dir)


def _load_cached(path: Path, model_dir: Path) -> OnnxEncoder | None:
    if not path.is_file():
        return None
    try:
        return OnnxEncoder(path, model_dir)
    except Exception as exc:  # truncated, corrupt, written by something else
        log.warning("embedder.onnx_cache_unusable", path=str(path), error=str(exc)[:200])
        path.unlink(missing_ok=True)
        return None


@contextlib.contextmanager
def _building(path: Path) -> Iterator[None]:
    """Hold the cache file's build lock (every process and thread), at most BUILD_WAIT_S;
    where it cannot be taken (a read-only cache dir, a build stuck elsewhere) build anyway."""
    lock = FileLock(path.with_name(f".{path.name}.lock"), timeout=BUILD_WAIT_S)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except (OSError, Timeout) as exc:
        log.info("embedder.onnx_build_unlocked", path=str(path), error=str(exc)[:200])
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _build(path: Path, model_dir: Path) -> OnnxEncoder:
    try:
        model = embeddings_bert.build(model_dir).SerializeToString()
    except ImportError as exc:
        raise OnnxUnavailableError(f"building the graph needs the onnx package ({exc})") from exc
    except embeddings_bert.UnsupportedModelError as exc:
        raise OnnxUnavailableError(str(exc)) from exc
    encoder = OnnxEncoder(model, model_dir)
    _write_cache(path, model)
    return encoder


def load_pooled(model: bytes, model_dir: Path) -> OnnxEncoder:
    """A ready-made ONNX model (its bytes, already checked) whose first output is the
    last hidden state [batch, tokens, hidden], with CLS pooling and L2 normalisation
    appended to its graph, run with the model dir's tokenizer. Only CLS pooling (1_Pooling/
    config.json's pooling_mode_cls_token) is supported. Raises OnnxUnavailableError."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailableError(f"onnxruntime is not installed ({exc})") from exc
    pooling = model_dir / "1_Pooling" / "config.json"
    try:
        cls = json.loads(pooling.read_text("utf-8")).get("pooling_mode_cls_token") is True
    except (OSError, ValueError, AttributeError) as exc:
        raise OnnxUnavailableError(f"cannot read {pooling}: {exc}") from exc
    if not cls:
        raise OnnxUnavailableError(f"{pooling}: only CLS pooling is supported for an ONNX file")
    try:
        return OnnxEncoder(append_cls_pooling(model), model_dir)
    except ImportError as exc:
        raise OnnxUnavailableError(f"appending the pooling needs the onnx package ({exc})") from exc


def append_cls_pooling(model: bytes) -> bytes:
    """The graph with its first output replaced by the L2-normalised vector of the first
    (CLS) token. Gather and LpNormalization have kept their form since opset 1, so this
    fits a graph of any opset."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    proto = onnx.load_from_string(model)
    graph = proto.graph
    hidden = graph.output[0].name  # last_hidden_state [batch, tokens, hidden]
    first = "octomem_cls_index"
    graph.initializer.append(numpy_helper.from_array(np.array(0, dtype=np.int64), first))
    graph.node.extend(
        [
            helper.make_node("Gather", [hidden, first], ["octomem_cls"], axis=1),
            helper.make_node("LpNormalization", ["octomem_cls"], ["embedding"], axis=1, p=2),
        ]
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", "hidden"])
    )
    return proto.SerializeToString()


def _write_cache(path: Path, model: bytes) -> None:
    """Write `model` to `path` atomically: readers see no file or the whole file. A cache
    dir that cannot be written only costs the next start a rebuild."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(model)
        tmp.chmod(0o644)  # mkstemp makes it 0600; a shared cache dir should stay readable
        os.replace(tmp, path)
    except OSError as exc:
        log.info("embedder.onnx_not_cached", path=str(path), error=str(exc)[:200])
    else:
        log.debug("embedder.onnx_cached", path=str(path), mb=round(len(model) / 1e6))
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _remove_stale_exports(cache_dir: Path) -> None:
    """Delete temp files (~90 MB each) that builds killed mid-way left behind, of any
    model; one younger than STALE_EXPORT_S may still be written by another process."""
    now = time.time()
    for tmp in cache_dir.glob(".*.onnx.*.tmp"):
        with contextlib.suppress(OSError):  # gone already, or not ours to delete
            if now - tmp.stat().st_mtime > STALE_EXPORT_S:
                tmp.unlink()
