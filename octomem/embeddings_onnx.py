"""Run a sentence-transformers Transformer + mean Pooling (+ Normalize) model on ONNX Runtime.

The model is exported once, from the already verified torch model, to
`{cache_dir}/{weights_sha256[:16]}-seq{max_seq_length}-opset17.onnx`; the export is checked
against torch before it is moved into place (atomically), so a cached file is always a
verified one. Loading a cached file needs onnxruntime and tokenizers only (no torch).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from octomem.logs import get_logger
from octomem.settings import user_cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Encoding

log = get_logger(__name__)

OPSET = 17
TOLERANCE = 1e-4  # max |onnx - torch| per vector component accepted after export
STALE_EXPORT_S = 3600  # an export takes seconds; a temp file this old was abandoned
CALL_COST = 64  # one inference's fixed cost, in padded tokens (measured: 32-64 best)
MAX_GROUP = 64  # texts per inference at most
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
_MODULES = ["Transformer", "Pooling"]
_PROBES = (
    "hello",
    "",
    "Where did Alice say she would move after the summer? Café, naïve, 東京 🙂",
    " ".join(f"word{i} and" for i in range(400)),  # far more tokens than max_seq_length
)


class OnnxUnavailableError(Exception):
    """ONNX cannot be used here; the message says why."""


class OnnxExportError(OnnxUnavailableError):
    """The export failed or its output did not match torch."""


def supports_onnx(model_dir: Path) -> str | None:
    """None if the model is Transformer + mean Pooling (+ Normalize); else why it is not."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text("utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (_MODULES, [*_MODULES, "Normalize"]):
            return f"modules {kinds} are not Transformer, Pooling (, Normalize)"
        pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text("utf-8"))
        config = json.loads((model_dir / "sentence_bert_config.json").read_text("utf-8"))
        max_seq_length(model_dir)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"cannot read the model's sentence-transformers config in {model_dir}: {exc}"
    modes = sorted(k for k, on in pooling.items() if k.startswith("pooling_mode_") and on)
    if modes != ["pooling_mode_mean_tokens"]:
        return f"pooling {modes} is not mean-tokens only"
    if config.get("do_lower_case"):
        return "do_lower_case is not supported"
    if not (model_dir / "tokenizer.json").is_file():
        return f"{model_dir} has no tokenizer.json"
    return None


def max_seq_length(model_dir: Path) -> int:
    """The truncation length sentence-transformers uses (not tokenizer.json's own)."""
    config = json.loads((model_dir / "sentence_bert_config.json").read_text("utf-8"))
    return int(config["max_seq_length"])


def default_cache_dir() -> Path:
    return user_cache_dir() / "octomem" / "onnx"


def cache_file(cache_dir: Path, weights_sha256: str, model_dir: Path) -> Path:
    return cache_dir / f"{weights_sha256[:16]}-seq{max_seq_length(model_dir)}-opset{OPSET}.onnx"


def _default_threads() -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, 4))


class OnnxEncoder:
    """An ONNX model file plus the model dir's tokenizer: texts in, unit vectors out."""

    def __init__(self, path: Path, model_dir: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or _default_threads()
        options.log_severity_level = 3  # errors only
        # idle threads must not spin: on few cores they starve the stores' threads that
        # run beside a query's embedding (recall p50 at 10k: 18.8 -> 16.5 ms, p95 30 -> 22)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        if unknown := set(self.inputs) - set(INPUT_NAMES):
            raise ValueError(f"{path} expects unknown inputs {sorted(unknown)}")
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
            raise ValueError(f"{path} returned an array of shape {probe.shape} for one text")
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


def load_or_export(
    model_dir: Path,
    weights_sha256: str,
    cache_dir: Path,
    torch_model: Callable[[], SentenceTransformer],
) -> OnnxEncoder:
    """The cached ONNX model, else export it from `torch_model()` (verified) and cache it.

    Raises OnnxUnavailableError (or OnnxExportError) saying why ONNX cannot be used.
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailableError(f"onnxruntime is not installed ({exc})") from exc
    if reason := supports_onnx(model_dir):
        raise OnnxUnavailableError(reason)
    path = cache_file(cache_dir, weights_sha256, model_dir)
    _remove_stale_exports(cache_dir)
    if path.is_file():
        try:
            return OnnxEncoder(path, model_dir)
        except Exception as exc:  # truncated, corrupt, written by something else
            log.warning("embedder.onnx_cache_unusable", path=str(path), error=str(exc)[:200])
            path.unlink(missing_ok=True)
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError as exc:
        raise OnnxUnavailableError(f"exporting needs the onnx package ({exc})") from exc
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=cache_dir)
        os.close(fd)
    except OSError as exc:
        raise OnnxUnavailableError(
            f"the ONNX cache dir {cache_dir} is not writable: {exc}"
        ) from exc
    tmp = Path(tmp_name)
    try:
        encoder = _export_verified(torch_model(), model_dir, tmp)
        tmp.chmod(0o644)  # mkstemp makes it 0600; a shared cache dir should stay readable
        os.replace(tmp, path)  # readers see no file or the whole file, never half of one
    except OSError as exc:
        raise OnnxUnavailableError(f"could not write {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.debug("embedder.onnx_exported", path=str(path), mb=round(path.stat().st_size / 1e6))
    return encoder


def _remove_stale_exports(cache_dir: Path) -> None:
    """Delete temp files (~90 MB each) that exports killed mid-way left behind, of any
    model; one younger than STALE_EXPORT_S may still be written by another process."""
    now = time.time()
    for tmp in cache_dir.glob(".*.onnx.*.tmp"):
        with contextlib.suppress(OSError):  # gone already, or not ours to delete
            if now - tmp.stat().st_mtime > STALE_EXPORT_S:
                tmp.unlink()


def _export_verified(st: SentenceTransformer, model_dir: Path, path: Path) -> OnnxEncoder:
    """Export `st` to `path`, load it and check it against torch on probe texts."""
    try:
        _export(st, path)
        encoder = OnnxEncoder(path, model_dir)
        expected = st.encode(
            list(_PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        batched = encoder.encode(_PROBES)  # mixed lengths: padding must not change anything
        singles = np.vstack([encoder.encode([text]) for text in _PROBES])
        diff = float(max(np.abs(expected - batched).max(), np.abs(expected - singles).max()))
    except Exception as exc:
        raise OnnxExportError(f"the ONNX export failed ({type(exc).__name__}: {exc})") from exc
    if not diff <= TOLERANCE:  # also catches NaN
        raise OnnxExportError(f"the ONNX export differs from torch by {diff:.2g} > {TOLERANCE}")
    return encoder


def _export(st: SentenceTransformer, path: Path) -> None:
    import torch

    model: Any = st[0].auto_model
    model.eval()
    names = [n for n in INPUT_NAMES if n in st.tokenizer.model_input_names]
    if names[:2] != ["input_ids", "attention_mask"]:
        raise ValueError(f"the tokenizer's inputs {names} lack input_ids/attention_mask")

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            inputs = dict(zip(names, tensors, strict=True))
            hidden = self.model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    # a padded example, so nothing the tracer bakes in assumes an all-ones mask
    example = st.tokenizer(["hello world", "a longer example sentence"], padding=True)
    args = tuple(torch.tensor(example[n], dtype=torch.int64) for n in names)
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in names}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shape-dependent branches
        torch.onnx.export(
            MeanPooled().eval(),
            args,
            str(path),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
