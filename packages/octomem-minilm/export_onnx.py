"""Write all-MiniLM-L6-v2's ONNX graphs, model.onnx and model_int8.onnx, beside its checked
weights.

    python export_onnx.py

A build step, run after fetch_weights.py (the Makefile's model wheel target runs both). It
refuses unless model.safetensors has the official release's sha256, writes the BERT
encoder operator by operator with the `onnx` package (needed here only: octomem runs the
files with onnxruntime), and refuses each file unless it has its hash, ONNX_SHA256 or
INT8_SHA256 (octomem_minilm_l6_v2/__init__.py), which octomem checks again before loading
it - a change of this script, or an onnx release that writes other bytes, fails here,
not in the user's process.

Each graph takes input_ids, attention_mask and token_type_ids (int64, [batch, tokens])
and gives the last hidden state, float32 [batch, tokens, 384]; octomem applies the
model's mean pooling and L2 normalisation, as sentence-transformers does. model.onnx
copies no weight: each initializer refers to its tensor's bytes inside model.safetensors
(ONNX external data, at the tensor's offset), so the wheel holds the weights once, and
ONNX Runtime and sentence-transformers read the same checked bytes. model_int8.onnx, the
graph octomem runs, is the same encoder with the weights of its 36 linear layers in int8
(in the file, 11 MB; `Graph.linear`) and the rest referred to as in model.onnx: about
40% less CPU a text, its vectors within cosine 0.97 of the float32 model's.
Idempotent: a file already in place with the right hash is kept.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from octomem_minilm_l6_v2 import (  # noqa: E402
    INT8_FILE,
    INT8_SHA256,
    MODEL_DIR,
    ONNX_FILE,
    ONNX_SHA256,
    WEIGHTS_SHA256,
)

WEIGHTS = "model.safetensors"
OPSET = 17  # LayerNormalization is an operator from 17 on
IR_VERSION = 8  # the IR of opset 17, written explicitly: make_model's default follows onnx
# an int8 weight's range, -63..63: with activations in uint8, two products sum below 2^15, so
# x86's 16-bit multiply-add (AVX2, no VNNI) never saturates: every CPU's integer products agree
WEIGHT_STEPS = 63


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def tensor_offsets(path: Path) -> dict[str, tuple[list[int], int, int]]:
    """Each float32 tensor of a safetensors file: its shape, its bytes' offset in the file
    and their length (the format: an 8-byte header size, a JSON header, the data)."""
    with path.open("rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
    start = 8 + size
    return {
        name: (
            info["shape"],
            start + info["data_offsets"][0],
            info["data_offsets"][1] - info["data_offsets"][0],
        )
        for name, info in header.items()
        if name != "__metadata__" and info["dtype"] == "F32"
    }


class Graph:
    """Collects nodes and initializers; each method adds one block and returns its output."""

    def __init__(
        self,
        config: dict[str, Any],
        tensors: dict[str, tuple[list[int], int, int]],
        int8: Path | None = None,
    ):
        """`int8`: the weights file, whose linear layers' weights are then quantized into
        the graph (`linear`); else every weight is referred to."""
        self.int8 = int8
        self.quantized: dict[str, list[str]] = {}  # `quantize`'s outputs, by its input
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.tensors = tensors
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.count = 0

    def model(self) -> onnx.ModelProto:
        x = self.embeddings()
        bias = self.attention_bias()
        for layer in range(self.layers):
            x = self.layer(f"encoder.layer.{layer}", x, bias)
        self.op("Identity", [x], out="last_hidden_state")
        names = ("input_ids", "attention_mask", "token_type_ids")
        inputs = [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"]) for n in names
        ]
        shape = ["batch", "tokens", self.hidden]
        output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, shape)
        graph = helper.make_graph(
            self.nodes, "all-MiniLM-L6-v2", inputs, [output], self.initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="octomem-minilm-l6-v2",
        )
        model.ir_version = IR_VERSION
        return model

    # building blocks

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def op(self, kind: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        output = out or self.name(kind)
        self.nodes.append(helper.make_node(kind, inputs, [output], **attrs))
        return output

    def const(self, array: np.ndarray) -> str:
        name = self.name("const")
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def scalar(self, value: float) -> str:
        return self.const(np.array(value, dtype=np.float32))

    def ints(self, *values: int) -> str:
        return self.const(np.array(values, dtype=np.int64))

    def weight(self, name: str) -> str:
        """The tensor `name` of model.safetensors, by reference: no byte is copied."""
        shape, offset, length = self.tensors[name]
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", WEIGHTS), ("offset", offset), ("length", length)):
            tensor.external_data.add(key=key, value=str(value))
        self.initializers.append(tensor)
        return name

    def array(self, name: str) -> np.ndarray:
        """The tensor `name` of the weights file, read."""
        assert self.int8 is not None
        shape, offset, length = self.tensors[name]
        count = length // 4
        return np.fromfile(self.int8, dtype="<f4", count=count, offset=offset).reshape(shape)

    def linear(self, prefix: str, x: str) -> str:
        """x @ W.T + b, with W stored [out, in] as torch stores it (ONNX Runtime folds the
        Transpose of a constant once, when it loads the graph). With `int8`: W.T quantized
        per output column (int8, -WEIGHT_STEPS..WEIGHT_STEPS, scale max|column| /
        WEIGHT_STEPS) and x token by token (`quantize`), multiplied in integers
        (MatMulInteger), then scaled back by the row scale and then the column one: a
        product of the two scales first is what ONNX Runtime's MatMulIntegerToFloat fusion
        matches, taking the row scale for one scale of the whole tensor (docs/decisions.md)."""
        if self.int8 is None:  # (model.onnx's bytes: its nodes and names in this order)
            w = self.op("Transpose", [self.weight(f"{prefix}.weight")], perm=[1, 0])
            return self.op("Add", [self.op("MatMul", [x, w]), self.weight(f"{prefix}.bias")])
        bias = self.weight(f"{prefix}.bias")
        w = np.ascontiguousarray(self.array(f"{prefix}.weight").T)  # [in, out]
        scale = (np.abs(w).max(axis=0) / np.float32(WEIGHT_STEPS)).astype(np.float32)
        scale[scale == 0] = 1  # an all-zero column stays zero
        q = np.clip(np.rint(w / scale), -WEIGHT_STEPS, WEIGHT_STEPS).astype(np.int8)
        if x not in self.quantized:  # the query, key and value read the same x
            self.quantized[x] = self.quantize(x)
        xq, x_scale = self.quantized[x]
        product = self.op("MatMulInteger", [xq, self.const(q), self.const(np.uint8(128))])
        rows = self.op("Mul", [self.op("Cast", [product], to=TensorProto.FLOAT), x_scale])
        return self.op("Add", [self.op("Mul", [rows, self.const(scale)]), bias])

    def quantize(self, x: str) -> list[str]:
        """x as uint8 about 128, each token's row on a scale of its own (max |row| / 127),
        and those scales [batch, tokens, 1]: a text's vector does not depend on the texts
        it is embedded with, as it would with one scale for the whole batch."""
        peak = self.op("ReduceMax", [self.op("Abs", [x])], axes=[-1], keepdims=1)
        x_scale = self.op("Div", [self.op("Max", [peak, self.scalar(1e-12)]), self.scalar(127.0)])
        rounded = self.op("Round", [self.op("Div", [x, x_scale])])
        shifted = self.op("Add", [rounded, self.scalar(128.0)])
        clipped = self.op("Clip", [shifted, self.scalar(1.0), self.scalar(255.0)])
        return [self.op("Cast", [clipped], to=TensorProto.UINT8), x_scale]

    def layer_norm(self, prefix: str, x: str) -> str:
        scale, shift = self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")
        return self.op("LayerNormalization", [x, scale, shift], axis=-1, epsilon=self.eps)

    # the model

    def embeddings(self) -> str:
        words = self.op("Gather", [self.weight("embeddings.word_embeddings.weight"), "input_ids"])
        length = self.op("Shape", ["input_ids"], start=1, end=2)  # [tokens], 1-D
        table = self.weight("embeddings.position_embeddings.weight")
        where = self.op("Slice", [table, self.ints(0), length, self.ints(0)])
        type_table = self.weight("embeddings.token_type_embeddings.weight")
        types = self.op("Gather", [type_table, "token_type_ids"])
        summed = self.op("Add", [self.op("Add", [words, types]), where])
        return self.layer_norm("embeddings.LayerNorm", summed)

    def attention_bias(self) -> str:
        """0 where attention_mask is 1, float32's minimum where it is 0: [batch, 1, 1, tokens]."""
        mask = self.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
        wide = self.op("Unsqueeze", [mask, self.ints(1, 2)])
        blocked = self.op("Sub", [self.scalar(1.0), wide])
        return self.op("Mul", [blocked, self.scalar(float(np.finfo(np.float32).min))])

    def split_heads(self, x: str, perm: list[int]) -> str:
        split = self.op("Reshape", [x, self.ints(0, 0, self.heads, self.hidden // self.heads)])
        return self.op("Transpose", [split], perm=perm)

    def layer(self, prefix: str, x: str, bias: str) -> str:
        attention = f"{prefix}.attention"
        q = self.split_heads(self.linear(f"{attention}.self.query", x), [0, 2, 1, 3])
        k = self.split_heads(self.linear(f"{attention}.self.key", x), [0, 2, 3, 1])
        v = self.split_heads(self.linear(f"{attention}.self.value", x), [0, 2, 1, 3])
        root = self.scalar(math.sqrt(self.hidden // self.heads))
        scores = self.op("Div", [self.op("MatMul", [q, k]), root])
        probs = self.op("Softmax", [self.op("Add", [scores, bias])], axis=-1)
        context = self.op("Transpose", [self.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        merged = self.op("Reshape", [context, self.ints(0, 0, self.hidden)])
        attended = self.linear(f"{attention}.output.dense", merged)
        x = self.layer_norm(f"{attention}.output.LayerNorm", self.op("Add", [attended, x]))
        inner = self.gelu(self.linear(f"{prefix}.intermediate.dense", x))
        out = self.linear(f"{prefix}.output.dense", inner)
        return self.layer_norm(f"{prefix}.output.LayerNorm", self.op("Add", [out, x]))

    def gelu(self, x: str) -> str:
        """Exact GELU, x * (1 + erf(x / sqrt 2)) / 2, in the form ONNX Runtime fuses."""
        erf = self.op("Erf", [self.op("Div", [x, self.scalar(math.sqrt(2.0))])])
        plus_one = self.op("Add", [erf, self.scalar(1.0)])
        return self.op("Mul", [self.op("Mul", [x, plus_one]), self.scalar(0.5)])


def export(model_dir: Path) -> None:
    weights = model_dir / WEIGHTS
    graphs = {ONNX_FILE: (ONNX_SHA256, None), INT8_FILE: (INT8_SHA256, weights)}
    todo = {
        name: graph
        for name, graph in graphs.items()
        if not ((model_dir / name).is_file() and sha256(model_dir / name) == graph[0])
    }
    if not todo:
        return
    actual = sha256(weights) if weights.is_file() else "missing"
    if actual != WEIGHTS_SHA256:
        sys.exit(f"{weights}: sha256 {actual}, not {WEIGHTS_SHA256}; run fetch_weights.py first")
    config = json.loads((model_dir / "config.json").read_text("utf-8"))
    expected = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    if wrong := {k: config.get(k) for k, v in expected.items() if config.get(k) != v}:
        sys.exit(f"{model_dir}/config.json: {wrong} is not the BERT this graph writes")
    tensors = tensor_offsets(weights)
    for name, (wanted, int8) in todo.items():
        target = model_dir / name
        model = Graph(config, tensors, int8).model()
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(model.SerializeToString())
        os.replace(partial, target)  # the checker resolves the external data beside the file
        onnx.checker.check_model(str(target), full_check=True)
        if (actual := sha256(target)) != wanted:
            target.unlink()
            sys.exit(f"{target} has sha256 {actual}, not {wanted}; refused (see the docstring)")


if __name__ == "__main__":
    export(MODEL_DIR)
