"""Run a sentence-transformers model's ONNX file on ONNX Runtime: texts in, unit vectors out.

The file - all-MiniLM-L6-v2's int8 graph, written when its package is built; bge-small's
int8 graph; a model directory's own export - gives the token vectors [batch, tokens,
hidden]. The mean or CLS pooling of the model directory's `1_Pooling/config.json` and the
L2 normalisation are applied here, as sentence-transformers applies them, and its
`tokenizer.json` truncated at `sentence_bert_config.json`'s max_seq_length. Needs
onnxruntime and tokenizers only: nothing is built or cached at run time.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Encoding

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# where a model directory's own ONNX file is looked for (Hugging Face's sentence-transformers
# repositories keep theirs in onnx/)
ONNX_FILES = ("model.onnx", "onnx/model.onnx")
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
CALL_COST = 64  # one inference's fixed cost, in padded tokens
MAX_GROUP = 64  # texts per inference at most


class OnnxUnavailableError(Exception):
    """ONNX Runtime cannot run the model here; the message says why."""


@dataclass(frozen=True)
class Setup:
    """What a model directory's sentence-transformers configuration asks of the encoder."""

    pooling: str  # "mean" or "cls"
    max_seq_length: int
    lower_case: bool


def onnx_file(model_dir: Path, names: Sequence[str] = ONNX_FILES) -> Path | None:
    """The first of `names` that is a file in model_dir."""
    for name in names:
        if (model_dir / name).is_file():
            return model_dir / name
    return None


def read_setup(model_dir: Path) -> Setup:
    """The pooling, truncation and casing of the model directory's configuration; raises
    OnnxUnavailableError when it asks for more than this encoder does."""
    modules = _json(model_dir / "modules.json", list)
    try:
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise OnnxUnavailableError(
                f"modules {kinds} are not Transformer, Pooling (, Normalize)"
            )
        pooling_dir = model_dir / str(modules[1]["path"])
    except (KeyError, TypeError) as exc:
        raise OnnxUnavailableError(f"{model_dir}/modules.json is not a module list") from exc
    pooling = _json(pooling_dir / "config.json", dict)
    modes = sorted(k for k, on in pooling.items() if k.startswith("pooling_mode_") and on)
    if len(modes) != 1 or modes[0] not in _POOLING_MODES:
        raise OnnxUnavailableError(f"pooling {modes} is not mean-tokens or cls-token only")
    config = _json(model_dir / "sentence_bert_config.json", dict)
    try:
        length = int(config["max_seq_length"])
    except (KeyError, TypeError, ValueError) as exc:
        raise OnnxUnavailableError(
            f"{model_dir}/sentence_bert_config.json has no max_seq_length"
        ) from exc
    return Setup(_POOLING_MODES[modes[0]], length, bool(config.get("do_lower_case")))


def _json(path: Path, kind: type) -> Any:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise OnnxUnavailableError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, kind):
        raise OnnxUnavailableError(f"{path} is not a JSON {kind.__name__}")
    return data


class OnnxEncoder:
    """An ONNX file plus its model directory's tokenizer and pooling: texts in, unit vectors
    out. Raises OnnxUnavailableError (onnxruntime missing, a configuration this encoder does
    not run) or, for a file that does not load or computes no token vectors, ValueError or
    ONNX Runtime's own error."""

    def __init__(self, path: Path, model_dir: Path, *, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise OnnxUnavailableError(f"onnxruntime is not installed ({exc})") from exc
        from tokenizers import Tokenizer

        self.setup = read_setup(model_dir)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        # more threads answer one call sooner, at more CPU a call (their hand-offs)
        options.intra_op_num_threads = threads or max(1, min(cpus or 1, 4))
        options.log_severity_level = 3  # errors only
        # idle threads must not spin: on few cores they starve the stores' threads that
        # run beside a query's embedding
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # from the path: a file whose weights are external data finds them beside it
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        if unknown := set(self.inputs) - set(INPUT_NAMES):
            raise ValueError(f"{path} expects unknown inputs {sorted(unknown)}")
        self.output = self.session.get_outputs()[0].name  # the token vectors
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        pad = tokenizer.padding or {}
        self._pad = {  # encode pads each group to its longest (not to tokenizer.json's 128)
            "pad_id": pad.get("pad_id", 0),
            "pad_type_id": pad.get("pad_type_id", 0),
            "pad_token": pad.get("pad_token", "[PAD]"),
            "direction": pad.get("direction", "right"),
        }
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.setup.max_seq_length)
        self.tokenizer = tokenizer
        probe = self.encode(["hello"])  # a file that loads but computes nonsense fails here
        if probe.shape[0] != 1 or not np.isfinite(probe).all():
            raise ValueError(f"{path} returned an array of shape {probe.shape} for one text")
        self.dimension = int(probe.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One normalized float32 row per text (a thread may call this concurrently)."""
        if self.setup.lower_case:
            texts = [text.lower() for text in texts]
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
        tokens = np.asarray(self.session.run([self.output], feeds)[0], dtype=np.float32)
        if tokens.ndim != 3 or tokens.shape[:2] != (len(encodings), len(encodings[0].ids)):
            raise ValueError(
                f"the model's first output has shape {tokens.shape}, not token vectors"
            )
        if self.setup.pooling == "cls":
            pooled = tokens[:, 0]
        else:  # the mean of the token vectors the mask keeps, as sentence-transformers takes it
            mask = np.asarray(columns["attention_mask"], dtype=np.float32)
            total = np.matmul(mask[:, None, :], tokens)[:, 0]  # one product per text
            pooled = total / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.sqrt(np.einsum("ij,ij->i", pooled, pooled))[:, None]
        return pooled / np.maximum(norms, 1e-12)


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
