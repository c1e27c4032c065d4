"""Build the ONNX graph of a sentence-transformers BERT model from its safetensors weights.

A BERT encoder, mean (or CLS) pooling and L2 normalisation, written operator by operator
with the `onnx` package: no torch, no export step. The graph computes what
sentence-transformers computes (tests/unit/test_embeddings_onnx.py compares the vectors
to 1e-5); ONNX Runtime runs it. Any model whose `config.json` says `"model_type": "bert"`
with absolute positions and exact GELU qualifies: all-MiniLM-L6-v2 (the bundled model,
the only one tested), and by their configuration the BERT-sized retrieval models such as
bge-small, e5-small and gte-small.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

OPSET = 17  # LayerNormalization is an operator from 17 on
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
_WEIGHTS_FILE = "model.safetensors"
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


class UnsupportedModelError(Exception):
    """The model is not one this builder can write; the message says why."""


def unsupported_reason(model_dir: Path) -> str | None:
    """None if `build(model_dir)` can write the model; else why it cannot."""
    try:
        _read_spec(model_dir)
    except UnsupportedModelError as exc:
        return str(exc)
    return None


def graph_key(model_dir: Path) -> str:
    """A short digest of everything besides the weights that shapes the graph (sizes,
    pooling): two models with the same weights but other pooling get other keys."""
    spec = json.dumps(asdict(_read_spec(model_dir)), sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()[:8]


def build(model_dir: Path) -> onnx.ModelProto:
    """The model in `model_dir` as one ONNX graph: token ids in, unit vectors out.

    Inputs (int64, [batch, sequence]): input_ids, attention_mask, token_type_ids.
    Output: `embedding`, float32 [batch, hidden]."""
    spec = _read_spec(model_dir)
    weights = _load_weights(model_dir / _WEIGHTS_FILE)
    return _Graph(spec, weights).model()


def max_seq_length(model_dir: Path) -> int:
    """The truncation length sentence-transformers uses (not tokenizer.json's own)."""
    return int(_json(model_dir / "sentence_bert_config.json")["max_seq_length"])


# --- reading the model directory -----------------------------------------------------


def _json(path: Path, kind: type = dict) -> Any:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UnsupportedModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, kind):
        raise UnsupportedModelError(f"{path} is not a JSON {kind.__name__}")
    return data


@dataclass(frozen=True)
class Spec:
    """What shapes the graph, besides the weights."""

    hidden: int
    heads: int
    layers: int
    eps: float
    pooling: str  # "mean" or "cls"
    max_seq_length: int


def _read_spec(model_dir: Path) -> Spec:
    """The model's shape and pooling, checked to be what the builder writes."""
    modules = _json(model_dir / "modules.json", list)
    try:
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise UnsupportedModelError(
                f"modules {kinds} are not Transformer, Pooling (, Normalize)"
            )
        pooling_path = model_dir / str(modules[1]["path"])
    except (KeyError, TypeError) as exc:
        raise UnsupportedModelError(f"{model_dir}/modules.json is not a model list") from exc
    pooling = _json(pooling_path / "config.json")
    modes = sorted(k for k, on in pooling.items() if k.startswith("pooling_mode_") and on)
    if len(modes) != 1 or modes[0] not in _POOLING_MODES:
        raise UnsupportedModelError(f"pooling {modes} is not mean-tokens or cls-token only")
    st_config = _json(model_dir / "sentence_bert_config.json")
    if st_config.get("do_lower_case"):
        raise UnsupportedModelError("do_lower_case is not supported")
    config = _json(model_dir / "config.json")
    checks = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    for key, wanted in checks.items():
        if config.get(key, wanted) != wanted:
            raise UnsupportedModelError(f"{key} is {config.get(key)!r}, not {wanted!r}")
    for path in (model_dir / "tokenizer.json", model_dir / _WEIGHTS_FILE):
        if not path.is_file():
            raise UnsupportedModelError(f"{path} is missing")
    try:
        spec = Spec(
            hidden=int(config["hidden_size"]),
            heads=int(config["num_attention_heads"]),
            layers=int(config["num_hidden_layers"]),
            eps=float(config.get("layer_norm_eps", 1e-12)),
            pooling=_POOLING_MODES[modes[0]],
            max_seq_length=int(st_config["max_seq_length"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedModelError(f"the model's configuration lacks {exc}") from exc
    if spec.heads < 1 or spec.hidden % spec.heads:
        raise UnsupportedModelError("hidden_size is not a multiple of num_attention_heads")
    return spec


def _load_weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        weights = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise UnsupportedModelError(f"cannot read the weights {path}: {exc}") from exc
    # BertForX checkpoints name the encoder's tensors "bert.<name>"
    return {name.removeprefix("bert."): array for name, array in weights.items()}


# --- the graph -----------------------------------------------------------------------


class _Graph:
    """Collects nodes and initializers; each method adds one block and returns its output."""

    def __init__(self, spec: Spec, weights: dict[str, np.ndarray]) -> None:
        self.spec = spec
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names = 0

    def model(self) -> onnx.ModelProto:
        from onnx import TensorProto, helper

        x = self.embeddings()
        bias = self.attention_bias()
        for layer in range(self.spec.layers):
            x = self.layer(f"encoder.layer.{layer}", x, bias)
        pooled = self.mean_pool(x) if self.spec.pooling == "mean" else self.cls_pool(x)
        self.op(
            "Div",
            [pooled, self.op("Max", [self.op("ReduceL2", [pooled], axes=[1]), self.const(1e-12)])],
            out="embedding",
        )
        batch_seq = ["batch", "sequence"]
        inputs = [
            helper.make_tensor_value_info(n, TensorProto.INT64, batch_seq) for n in INPUT_NAMES
        ]
        output = helper.make_tensor_value_info(
            "embedding", TensorProto.FLOAT, ["batch", self.spec.hidden]
        )
        graph = helper.make_graph(
            self.nodes, "sentence_embedding", inputs, [output], self.initializers
        )
        return helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="octomem"
        )

    # building blocks

    def name(self, hint: str) -> str:
        self._names += 1
        return f"{hint}_{self._names}"

    def op(self, kind: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        output = out or self.name(kind)
        self.nodes.append(helper.make_node(kind, inputs, [output], **attrs))
        return output

    def tensor(self, array: np.ndarray, hint: str = "const") -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value: float) -> str:
        return self.tensor(np.array(value, dtype=np.float32))

    def ints(self, *values: int) -> str:
        return self.tensor(np.array(values, dtype=np.int64), "ints")

    def weight(self, name: str) -> np.ndarray:
        try:
            return self.weights[name]
        except KeyError:
            raise UnsupportedModelError(f"the weights lack {name}") from None

    def linear(self, prefix: str, x: str) -> str:
        """x @ W.T + b, with W stored [out, in] as torch stores it."""
        w = self.tensor(self.weight(f"{prefix}.weight").T, prefix)
        b = self.tensor(self.weight(f"{prefix}.bias"), prefix)
        return self.op("Add", [self.op("MatMul", [x, w]), b])

    def layer_norm(self, prefix: str, x: str) -> str:
        scale = self.tensor(self.weight(f"{prefix}.weight"), prefix)
        shift = self.tensor(self.weight(f"{prefix}.bias"), prefix)
        return self.op("LayerNormalization", [x, scale, shift], axis=-1, epsilon=self.spec.eps)

    # the model

    def embeddings(self) -> str:
        words = self.op(
            "Gather", [self.tensor(self.weight("embeddings.word_embeddings.weight")), "input_ids"]
        )
        length = self.op("Shape", ["input_ids"], start=1, end=2)  # [sequence], 1-D
        table = self.tensor(self.weight("embeddings.position_embeddings.weight"))
        where = self.op("Slice", [table, self.ints(0), length, self.ints(0)])
        types = self.op(
            "Gather",
            [self.tensor(self.weight("embeddings.token_type_embeddings.weight")), "token_type_ids"],
        )
        summed = self.op("Add", [self.op("Add", [words, types]), where])
        return self.layer_norm("embeddings.LayerNorm", summed)

    def attention_bias(self) -> str:
        """0 where attention_mask is 1, float32's minimum where it is 0: [batch, 1, 1, seq]."""
        mask = self.op("Cast", ["attention_mask"], to=1)  # 1 = FLOAT
        wide = self.op("Unsqueeze", [mask, self.ints(1, 2)])
        blocked = self.op("Sub", [self.const(1.0), wide])
        return self.op("Mul", [blocked, self.const(float(np.finfo(np.float32).min))])

    def heads(self, x: str, perm: list[int]) -> str:
        head_dim = self.spec.hidden // self.spec.heads
        split = self.op("Reshape", [x, self.ints(0, 0, self.spec.heads, head_dim)])
        return self.op("Transpose", [split], perm=perm)

    def layer(self, prefix: str, x: str, bias: str) -> str:
        head_dim = self.spec.hidden // self.spec.heads
        q = self.heads(self.linear(f"{prefix}.attention.self.query", x), [0, 2, 1, 3])
        k = self.heads(self.linear(f"{prefix}.attention.self.key", x), [0, 2, 3, 1])
        v = self.heads(self.linear(f"{prefix}.attention.self.value", x), [0, 2, 1, 3])
        scores = self.op("Div", [self.op("MatMul", [q, k]), self.const(math.sqrt(head_dim))])
        probs = self.op("Softmax", [self.op("Add", [scores, bias])], axis=-1)
        context = self.op("Transpose", [self.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        merged = self.op("Reshape", [context, self.ints(0, 0, self.spec.hidden)])
        attended = self.linear(f"{prefix}.attention.output.dense", merged)
        x = self.layer_norm(f"{prefix}.attention.output.LayerNorm", self.op("Add", [attended, x]))
        inner = self.gelu(self.linear(f"{prefix}.intermediate.dense", x))
        out = self.linear(f"{prefix}.output.dense", inner)
        return self.layer_norm(f"{prefix}.output.LayerNorm", self.op("Add", [out, x]))

    def gelu(self, x: str) -> str:
        """Exact GELU, x * (1 + erf(x / sqrt 2)) / 2, in the form ONNX Runtime fuses."""
        erf = self.op("Erf", [self.op("Div", [x, self.const(math.sqrt(2.0))])])
        return self.op(
            "Mul", [self.op("Mul", [x, self.op("Add", [erf, self.const(1.0)])]), self.const(0.5)]
        )

    def mean_pool(self, x: str) -> str:
        """The mean of the token vectors the mask keeps (sum / max(count, 1e-9))."""
        mask = self.op("Unsqueeze", [self.op("Cast", ["attention_mask"], to=1), self.ints(2)])
        total = self.op("ReduceSum", [self.op("Mul", [x, mask]), self.ints(1)], keepdims=0)
        count = self.op("ReduceSum", [mask, self.ints(1)], keepdims=0)
        return self.op("Div", [total, self.op("Max", [count, self.const(1e-9)])])

    def cls_pool(self, x: str) -> str:
        """The first token's vector. (Slice, not Gather with a scalar index: ONNX Runtime's
        optimizer rewrites that Gather into a Slice that keeps the axis.)"""
        first = self.op("Slice", [x, self.ints(0), self.ints(1), self.ints(1)])
        return self.op("Squeeze", [first, self.ints(1)])
