"""Embedders: the bundled local model (default, offline), litellm providers, and an LRU cache.

Every embedder returns one list of floats per input text, in input order.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import mmap
import sys
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

import numpy as np

from octomem._litellm import import_litellm, require_litellm
from octomem.errors import ConfigurationError, InvalidInputError, LLMError
from octomem.logs import get_logger

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from octomem.embeddings_onnx import OnnxEncoder

log = get_logger(__name__)

BUNDLED_MODEL = "all-MiniLM-L6-v2"
BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"
# model_int8.onnx of octomem-minilm-l6-v2: the graph its export_onnx.py writes at build time
# with its linear layers' weights quantized to int8 in the file; its other weights are the
# bytes of model.safetensors above
BUNDLED_ONNX = "model_int8.onnx"
BUNDLED_ONNX_SHA256 = "4ec05c9dab012644b132dc2a38010d1f4d084ea50277ee3d46c94992a1d2674e"
BGE_MODEL = "bge-small-en-v1.5"
# model_quantized.onnx of Xenova/bge-small-en-v1.5 at ea104dacec62c0de699686887e3f920caeb4f3e3:
# Hugging Face's int8 conversion of BAAI's weights (packages/octomem-bge-small-en-v1-5)
BGE_MODEL_SHA256 = "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4"
# expected_sha256's default: the hashes the bundled model's files are known to have
KNOWN_SHA256 = "known"
_REINSTALL = "pip install --force-reinstall octomem-minilm-l6-v2"
_TORCH_EXTRA = "pip install 'octomem[torch]'"


@dataclass(frozen=True)
class BundledModel:
    """A model whose files an octomem package ships: `package` (its import name) has
    MODEL_DIR. `onnx` is the file run on ONNX Runtime, `weights` the one sentence-
    transformers loads (None: ONNX Runtime only); `sha256` maps each file checked before
    use to its hash."""

    name: str
    package: str
    install: str
    onnx: str
    weights: str | None
    sha256: dict[str, str]


_MINILM = BundledModel(
    BUNDLED_MODEL,
    "octomem_minilm_l6_v2",
    _REINSTALL,
    BUNDLED_ONNX,
    WEIGHTS_FILE,
    {BUNDLED_ONNX: BUNDLED_ONNX_SHA256, WEIGHTS_FILE: BUNDLED_MODEL_SHA256},
)
_BGE = BundledModel(
    BGE_MODEL,
    "octomem_bge_small_en_v1_5",
    "pip install 'octomem[bge]'",
    "model_quantized.onnx",
    None,
    {"model_quantized.onnx": BGE_MODEL_SHA256},
)
BUNDLED_MODELS = {
    BUNDLED_MODEL: _MINILM,
    f"sentence-transformers/{BUNDLED_MODEL}": _MINILM,
    BGE_MODEL: _BGE,
    f"BAAI/{BGE_MODEL}": _BGE,
}

Backend = Literal["auto", "onnx", "torch"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors. `name` identifies the model (vectors of different names
    must never be mixed in one collection); `dimension` is the vector length."""

    name: str

    @property
    def dimension(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def cosines(query: Sequence[float], matrix: Any) -> np.ndarray:
    """The cosine similarity of `query` to each row of `matrix` (0 for a zero vector)."""
    rows = np.asarray(matrix, dtype=np.float64)
    vector = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(vector)
    dots = rows @ vector
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms != 0)


def sha256_file(path: Path) -> str:
    """sha256 of a file, hashed from a read-only map of it (never a copy in memory) in
    one call that releases the GIL throughout: read in chunks, each chunk would wait for
    the GIL again, and a model checked beside a command's imports took five times as long."""
    with path.open("rb") as fh:
        try:
            view = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # an empty file, or one that cannot be mapped
            return hashlib.file_digest(fh, "sha256").hexdigest()
        with view:
            return hashlib.sha256(view).hexdigest()


# --- local ---------------------------------------------------------------------------


class LocalEmbedder:
    """A sentence-transformers model loaded from local files only (never from a hub).

    By default all-MiniLM-L6-v2 from the octomem-minilm-l6-v2 package; bge-small-en-v1.5
    is an int8 ONNX file (`octomem[bge]`), on ONNX Runtime only. The model is loaded once,
    on first use; the files it reads are checked first against their known sha256. Pass
    `model_dir` for another local sentence-transformers directory, with the
    `expected_sha256` of the file loaded (None skips the check).

    `backend`: "onnx" runs the model's ONNX file on ONNX Runtime, without torch; "torch"
    runs sentence-transformers (`octomem[torch]`); "auto" uses ONNX when it can (CPU
    device, an ONNX file, onnxruntime), else torch. all-MiniLM-L6-v2 runs on ONNX as its
    int8 graph, ~40% less CPU a text than its float32 one; its vectors are within cosine
    0.97 of the float32 model's on torch (0.99 on average: docs/configuration.md), so
    stores written by either keep working. `threads`: of one call (unset: the cores, at
    most 4); on torch, the process's (`torch.set_num_threads`).
    """

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        expected_sha256: str | None = KNOWN_SHA256,
        model_dir: Path | None = None,
        backend: Backend = "auto",
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1; got {batch_size}")
        if backend not in get_args(Backend):
            raise ConfigurationError(f"backend must be auto, onnx or torch; got {backend!r}")
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64
        ):
            raise ConfigurationError(f"threads must be 1 to 64, or None; got {threads!r}")
        self.threads = threads
        self.model = model
        self.bundled = BUNDLED_MODELS.get(model)  # its files, their hashes, its package
        if expected_sha256 == KNOWN_SHA256 and self.bundled is None:
            raise ConfigurationError(
                f"local embedding model {model!r} is not bundled: pass its expected_sha256 "
                f"(or None to skip the check)"
            )
        short = model.removeprefix("sentence-transformers/").removeprefix("BAAI/")
        self.name = f"local/{short}"
        self.batch_size = batch_size
        self.device = device
        self.expected_sha256 = expected_sha256
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._own_dir = model_dir is not None  # else the bundled package's folder
        self.backend = backend
        self.active_backend: Literal["onnx", "torch"] | None = None  # set by load()
        self._st: SentenceTransformer | None = None
        self._onnx: OnnxEncoder | None = None
        self._onnx_unused = ""  # why auto fell back to torch
        self._lock = threading.Lock()

    @property
    def model_dir(self) -> Path:
        if self._model_dir is None:
            self._model_dir = _bundled_model_dir(self.model)
        return self._model_dir

    @property
    def _install(self) -> str:
        return self.bundled.install if self.bundled else _REINSTALL

    @property
    def dimension(self) -> int:
        if self.active_backend is None:
            pooling = self.model_dir / "1_Pooling" / "config.json"
            modules = self.model_dir / "modules.json"
            try:
                if "Dense" not in modules.read_text("utf-8"):
                    return int(json.loads(pooling.read_text("utf-8"))["word_embedding_dimension"])
            except (OSError, ValueError, KeyError):
                pass  # fall back to loading the model
        if self.load() == "onnx" and self._onnx is not None:
            return self._onnx.dimension
        st = self._torch_model()
        get_dim = (
            getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ConfigurationError(f"{self.name}: the model does not report its dimension")
        return int(dim)

    def load(self) -> Literal["onnx", "torch"]:
        """Verify and load the model (once; thread-safe); return the backend in use."""
        if self.active_backend is None:
            with self._lock:
                if self.active_backend is None:
                    self.active_backend = self._load()
        return self.active_backend

    def _load(self) -> Literal["onnx", "torch"]:
        started = time.perf_counter()
        backend: Literal["onnx", "torch"] = "torch"
        if self.backend != "torch":
            path, why = self._onnx_path()
            if path is not None:
                self._load_onnx(path)
                backend = "onnx"
            elif self.backend == "onnx" or self._onnx_only:
                torch = f"; or run its safetensors weights with backend='torch' (`{_TORCH_EXTRA}`)"
                raise ConfigurationError(
                    f"{self.name} cannot run on ONNX Runtime: {why}"
                    f"{'' if self._onnx_only else torch}"
                )
            else:
                log.info("embedder.onnx_unused", model=self.name, reason=why, fallback="torch")
                self._onnx_unused = why
        if backend == "torch":
            self._torch_model()
        log.debug(
            "embedder.loaded",
            model=self.name,
            backend=backend,
            path=str(self.model_dir),
            seconds=round(time.perf_counter() - started, 3),
        )
        return backend

    @property
    def _onnx_only(self) -> bool:
        """A bundled model whose only file is its ONNX graph (bge): no torch to fall back to."""
        return self.bundled is not None and self.bundled.weights is None

    def _onnx_path(self) -> tuple[Path | None, str]:
        """The ONNX file to load, or None and why ONNX Runtime cannot run the model."""
        from octomem import embeddings_onnx as eo

        if self.device != "cpu":
            return None, f"it runs on CPU only, not device={self.device!r}"
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            return None, f"onnxruntime is not installed ({exc}): `pip install onnxruntime`"
        if self.bundled and not self._own_dir:  # the package's graph, no other
            names: tuple[str, ...] = (self.bundled.onnx,)
        else:
            bundled = [self.bundled.onnx] if self.bundled else []
            names = tuple(dict.fromkeys((*bundled, *eo.ONNX_FILES)))
        path = eo.onnx_file(self.model_dir, names)
        if path is None:
            if not self._own_dir:
                missing = self.model_dir / names[0]
                return None, f"{missing} is missing; reinstall it with `{self._install}`"
            return None, (
                f"{self.model_dir} has no ONNX file ({' or '.join(names)}); put the model's "
                f"ONNX export there (its first output the token vectors)"
            )
        try:
            eo.read_setup(self.model_dir)
        except eo.OnnxUnavailableError as exc:
            return None, str(exc)
        return path, ""

    def _check(self, loaded: Path) -> None:
        """Refuse the model unless the files it reads have their expected sha256 (a bundled
        ONNX graph: the graph and the weights it refers to)."""
        if self.expected_sha256 is None:
            return
        expected: dict[Path, str] = {loaded: self.expected_sha256}
        if self.expected_sha256 == KNOWN_SHA256 and self.bundled is not None:
            known = self.bundled.sha256
            if loaded == self.model_dir / self.bundled.onnx:  # the graph and its weights
                expected = {self.model_dir / name: sha256 for name, sha256 in known.items()}
            elif loaded.name in known:
                expected = {loaded: known[loaded.name]}
            else:
                raise ConfigurationError(
                    f"the sha256 of {loaded} is not known: pass its expected_sha256 (or None "
                    f"to skip the check)"
                )
        for path, sha256 in expected.items():
            if not path.is_file():
                why = f" (and ONNX Runtime cannot run it: {self._onnx_unused})"
                raise ConfigurationError(
                    f"model file {path} is missing{why if self._onnx_unused else ''}; reinstall "
                    f"the model with `{self._install}` (or pass model_dir= a complete local "
                    f"model directory)"
                )
            if (actual := sha256_file(path)) != sha256.lower():
                raise ConfigurationError(
                    f"model file {path} is corrupt or not the expected model: sha256 is "
                    f"{actual}, expected {sha256}. Reinstall it with `{self._install}` (for "
                    f"your own model_dir, pass its expected_sha256)"
                )

    def _load_onnx(self, path: Path) -> None:
        from octomem import embeddings_onnx as eo

        self._check(path)
        try:
            self._onnx = eo.OnnxEncoder(path, self.model_dir, threads=self.threads)
        except eo.OnnxUnavailableError as exc:
            raise ConfigurationError(f"{self.name} cannot be loaded: {exc}") from exc
        except Exception as exc:  # a file that passed its check but does not load
            raise ConfigurationError(
                f"could not load the embedding model {path}: {exc}. Reinstall it with "
                f"`{self._install}` or check model_dir"
            ) from exc

    def _torch_model(self) -> SentenceTransformer:
        """The sentence-transformers model (loaded once; the caller holds the lock)."""
        if self._st is not None:
            return self._st
        model_dir = self.model_dir
        if self._onnx_only:
            raise ConfigurationError(
                f"{self.name} is an ONNX file and runs on ONNX Runtime only; use backend="
                f"'onnx' or 'auto', not 'torch'"
            )
        self._check(model_dir / WEIGHTS_FILE)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            why = (
                f"ONNX Runtime cannot run it ({self._onnx_unused}) and "
                if self._onnx_unused
                else ""
            )
            raise ConfigurationError(
                f"the embedding model {self.name} needs sentence-transformers: {why}"
                f"backend={self.backend!r} runs it with torch, which is not installed "
                f"({exc}). Install it with `{_TORCH_EXTRA}`"
            ) from exc

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar from a library
        try:
            st = SentenceTransformer(str(model_dir), device=self.device, local_files_only=True)
        except Exception as exc:  # any load failure is a configuration problem
            raise ConfigurationError(
                f"could not load the embedding model from {model_dir}: {exc}. "
                f"Reinstall it with `{self._install}` or check model_dir / device={self.device!r}"
            ) from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        if self.threads is not None:  # torch's threads are the process's
            import torch

            torch.set_num_threads(self.threads)
        self._st = st
        return st

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        batch = _check_texts(texts)
        if not batch:
            return []
        return await asyncio.to_thread(self._encode, batch)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        self.load()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            if self._onnx is not None:
                vectors.extend(self._onnx.encode(chunk).tolist())
                continue
            array = self._torch_model().encode(
                chunk,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
            vectors.extend(array.tolist())
        return vectors


def load_early(embedder: Embedder) -> threading.Thread | None:
    """Start verifying and loading a local model in a thread of its own, so that its
    load overlaps whatever the caller does next (a command line opening its stores) and a
    first call finds it loaded; nothing for a model behind an API or one already loaded.
    An error stays for the first call to raise (`load` tries again)."""
    inner = getattr(embedder, "inner", embedder)
    if not isinstance(inner, LocalEmbedder) or inner.active_backend is not None:
        return None
    if inner.backend == "torch" or inner._onnx_path()[0] is None:
        return None  # torch's load imports half of PyPI: not beside the caller's imports
    # what the load imports is imported here, before the thread starts: two threads
    # importing numpy at once can leave one of them a partly initialised module
    import onnxruntime  # noqa: F401
    import tokenizers  # noqa: F401

    from octomem import embeddings_onnx  # noqa: F401

    def load() -> None:
        try:
            inner.load()
        except Exception as exc:  # raised again by the first call that needs the model
            log.debug("embedder.early_load_failed", model=inner.name, error=str(exc))

    # not a daemon: the interpreter never exits while ONNX Runtime builds a session
    thread = threading.Thread(target=load, name="octomem-embedder-load")
    thread.start()
    return thread


def _bundled_model_dir(model: str) -> Path:
    bundled = BUNDLED_MODELS.get(model)
    if bundled is None:
        raise ConfigurationError(
            f"local embedding model {model!r} is not bundled (only {BUNDLED_MODEL!r} and "
            f"{BGE_MODEL!r} are); pass model_dir= a local sentence-transformers directory, "
            f"or use a litellm embedder"
        )
    try:
        package = importlib.import_module(bundled.package)
    except ImportError as exc:
        raise ConfigurationError(
            f"the embedding model {bundled.name} is not installed (package "
            f"{bundled.package.replace('_', '-')}); install it with `{bundled.install}`"
        ) from exc
    return Path(package.MODEL_DIR)


# --- litellm -------------------------------------------------------------------------


class LiteLLMEmbedder:
    """Embeddings from any provider litellm supports, e.g. 'openai/text-embedding-3-small'.

    `extra` is passed to `litellm.aembedding` (api_base, api_key, dimensions, timeout...).
    `dimension` is learnt from the first response when not given.
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 64,
        extra: dict[str, Any] | None = None,
        dimension: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1; got {batch_size}")
        require_litellm(f"the embedding model {model!r}")
        self.name = model
        self.model = model
        self.batch_size = batch_size
        self.extra = dict(extra or {})
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        """Given, else extra['dimensions'], else litellm's model table, else the first reply."""
        if self._dimension is None:
            self._dimension = _known_dimension(self.model, self.extra)
        if self._dimension is None:
            raise DimensionUnknownError(
                f"the dimension of embedding model {self.model!r} is not known until its first "
                f"response; pass dimension= to LiteLLMEmbedder (or embed something first)"
            )
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        batch = _check_texts(texts)
        vectors: list[list[float]] = []
        for start in range(0, len(batch), self.batch_size):
            vectors.extend(await self._embed_batch(batch[start : start + self.batch_size]))
        return vectors

    async def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        litellm = import_litellm()
        try:
            response = await litellm.aembedding(model=self.model, input=batch, **self.extra)
        except Exception as exc:  # every provider failure becomes an LLMError
            raise LLMError(
                f"embedding model {self.model!r} failed ({type(exc).__name__}: {_short(exc)}). "
                f"{_hint(litellm, exc)}"
            ) from exc
        items = sorted(response.data, key=lambda item: _field(item, "index"))
        vectors = [[float(x) for x in _field(item, "embedding")] for item in items]
        if len(vectors) != len(batch):
            raise LLMError(
                f"embedding model {self.model!r} returned {len(vectors)} vectors for "
                f"{len(batch)} texts; check that the provider supports batched input "
                f"(or use batch_size=1)"
            )
        for vector in vectors:
            if self._dimension is None:
                self._dimension = len(vector)
            elif len(vector) != self._dimension:
                raise LLMError(
                    f"embedding model {self.model!r} returned a {len(vector)}-dim vector, "
                    f"expected {self._dimension}; fix dimension= or pass "
                    f"extra={{'dimensions': {self._dimension}}} if the model supports it"
                )
        return vectors


class DimensionUnknownError(ConfigurationError, AttributeError):
    """The vector length is not known yet (an AttributeError too, so hasattr() is False)."""


def _known_dimension(model: str, extra: dict[str, Any]) -> int | None:
    if isinstance(extra.get("dimensions"), int):
        return int(extra["dimensions"])
    table = import_litellm().model_cost
    for key in (model, model.partition("/")[2]):
        size = table.get(key, {}).get("output_vector_size") if key else None
        if isinstance(size, int):
            return size
    return None


def _hint(litellm: Any, exc: Exception) -> str:
    hints: list[tuple[str, str]] = [
        ("AuthenticationError", "Check the provider's API key (e.g. extra={'api_key': ...})."),
        ("PermissionDeniedError", "The API key may not have access to this model."),
        ("ContextWindowExceededError", "A text is too long for the model; shorten it."),
        ("NotFoundError", "Check the model name, e.g. 'openai/text-embedding-3-small'."),
        ("RateLimitError", "The provider is rate limiting; retry later or lower batch_size."),
        ("Timeout", "The provider timed out; retry, or raise extra={'timeout': ...}."),
        ("APIConnectionError", "Could not reach the provider; check the network and api_base."),
        ("BadRequestError", "The provider rejected the request; check the model and extra."),
        ("ServiceUnavailableError", "The provider is unavailable; retry later."),
        ("InternalServerError", "The provider had an internal error; retry later."),
    ]
    for cls_name, hint in hints:
        cls = getattr(litellm, cls_name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return hint
    return "Check the model name, credentials and network, or use the local embedder."


def _short(exc: Exception, limit: int = 300) -> str:
    """The first line of an exception message, capped (litellm appends tracebacks and URLs)."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _field(item: Any, key: str) -> Any:
    return item[key] if isinstance(item, dict) else getattr(item, key)


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise InvalidInputError(
            "embed() takes a sequence of texts, not one string: use embed([text])"
        )
    batch = list(texts)
    for i, text in enumerate(batch):
        if not isinstance(text, str):
            raise InvalidInputError(f"texts[{i}] is {type(text).__name__}, not str")
    return batch


# --- cache ---------------------------------------------------------------------------


DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
# an entry's cost besides its text and vector: its slot in the ordered dict (tracemalloc,
# CPython 3.11: ~80 bytes)
_ENTRY_OVERHEAD = 80


class CachedEmbedder:
    """An LRU cache in front of another embedder, keyed by a digest of the exact text (it
    keeps no text: what a forgotten user said is not left in it).

    Vectors are kept as packed doubles (the same floats back), at most `max_entries` of
    them and `max_bytes` of keys and vectors together (0: nothing is kept between calls).
    """

    def __init__(
        self,
        inner: Embedder,
        max_entries: int = 20_000,
        *,
        max_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1; got {max_entries}")
        if max_bytes < 0:
            raise ConfigurationError(f"max_bytes must be 0 or more; got {max_bytes}")
        self.inner = inner
        self.name = inner.name
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.nbytes = 0  # what the cached texts and vectors hold
        self.hits = 0
        self.misses = 0
        self._cache: OrderedDict[bytes, array[float]] = OrderedDict()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        self._cache.clear()
        self.nbytes = 0

    def partition(self, name: str) -> Embedder:
        """This embedder for one tenant (a project of the service): its texts are cached
        under keys of its own, and within it those embedded for one user's memories or
        queries under keys of that user's own (`embed_for`), so that no call of another
        partition or for another user finds them - nor learns, by taking less time, that a
        text was embedded there. The model and the cache's bounds are shared."""
        return _Partition(self, name)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        batch = _check_texts(texts)
        return await self.embed_in(batch, [""] * len(batch))

    async def embed_in(self, texts: Sequence[str], spaces: Sequence[str]) -> list[list[float]]:
        """The vectors of `texts`, each cached under keys of the partition `spaces` names
        for it (one per text). The texts missing from the cache go to the model in one
        call, each text once."""
        keys = [_cache_key(text, space) for text, space in zip(texts, spaces, strict=True)]
        found: dict[bytes, Sequence[float]] = {}
        for key in keys:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                found[key] = cached
        missing = {key: text for text, key in zip(texts, keys, strict=True) if key not in found}
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            wanted = list(dict.fromkeys(missing.values()))
            vectors = await self.inner.embed(wanted)
            if len(vectors) != len(wanted):
                raise LLMError(
                    f"embedder {self.inner.name!r} returned {len(vectors)} vectors "
                    f"for {len(wanted)} texts"
                )
            made = dict(zip(wanted, vectors, strict=True))
            for key, text in missing.items():
                found[key] = made[text]
                self._remember(key, array("d", made[text]))
        return [list(found[key]) for key in keys]

    def _remember(self, key: bytes, vector: array[float]) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self.nbytes -= _entry_bytes(key, old)
        self._cache[key] = vector
        self.nbytes += _entry_bytes(key, vector)
        while len(self._cache) > self.max_entries or self.nbytes > self.max_bytes:
            evicted, old = self._cache.popitem(last=False)
            self.nbytes -= _entry_bytes(evicted, old)


class _Partition:
    """One partition of a `CachedEmbedder` (`CachedEmbedder.partition`)."""

    def __init__(self, cache: CachedEmbedder, name: str) -> None:
        self.cache = cache
        self.space = name
        self.name = cache.name

    @property
    def dimension(self) -> int:
        return self.cache.dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        batch = _check_texts(texts)
        return await self.cache.embed_in(batch, [self.space] * len(batch))

    async def embed_for(
        self, texts: Sequence[str], users: Sequence[str | None]
    ) -> list[list[float]]:
        batch = _check_texts(texts)
        spaces = [self.space if u is None else f"{self.space}\x1fuser:{u}" for u in users]
        return await self.cache.embed_in(batch, spaces)

    def clear(self) -> None:
        """Empty the whole cache (a forget: the vectors of the user's texts are theirs)."""
        self.cache.clear()


async def embed_for(
    embedder: Embedder, texts: Sequence[str], users: Sequence[str | None]
) -> list[list[float]]:
    """The vectors of `texts`, each embedded for the user whose memory or query it is
    (`users`, one per text; None: no user's). A partition of the cache keeps each under
    keys of that user's own (`CachedEmbedder.partition`); any other embedder embeds them
    as `embed` does."""
    if len(users) != len(texts):
        raise ValueError(f"{len(texts)} texts, {len(users)} users: give one user per text")
    if isinstance(embedder, _Partition):
        return await embedder.embed_for(texts, users)
    return await embedder.embed(texts)


def _cache_key(text: str, space: str = "") -> bytes:
    """128 bits of BLAKE2b of the text, keyed by the partition (`space`): no two texts a
    cache meets share one, nor one text in two partitions."""
    key = hashlib.blake2b(space.encode("utf-8", "surrogatepass")).digest() if space else b""
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16, key=key).digest()


def _entry_bytes(key: bytes, vector: array[float]) -> int:
    return sys.getsizeof(key) + sys.getsizeof(vector) + _ENTRY_OVERHEAD
