"""A tiny, randomly initialised pyannote speaker-diarization pipeline saved in community-1's layout.

The pretrained checkpoints cannot be downloaded here, so tests build the same kinds of parts
(powerset ``PyanNet`` segmentation, ``WeSpeakerResNet34`` embedding, VBx PLDA) with random
weights and write them where :class:`models.pyannote_diarizer.PyannoteDiarizer` reads them::

    <dir>/config.yaml
    <dir>/segmentation/pytorch_model.bin
    <dir>/embedding/pytorch_model.bin
    <dir>/plda/xvec_transform.npz
    <dir>/plda/plda.npz

Random weights give meaningless speakers: this exercises the loading and inference code only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ["PYANNOTE_METRICS_ENABLED"] = "0"

import lightning
import numpy as np
import torch
import yaml
from pyannote.audio.core.task import Problem, Resolution, Specifications
from pyannote.audio.models.embedding import WeSpeakerResNet34
from pyannote.audio.models.segmentation import PyanNet

EMBEDDING_DIM = 256  # fixed by WeSpeakerResNet34
LDA_DIM = 128  # pyannote's PLDA keeps this many dimensions by default
SEGMENTATION_S = 10.0

CONFIG: dict[str, Any] = {
    "dependencies": {"pyannote.audio": "4.0.0"},
    "pipeline": {
        "name": "pyannote.audio.pipelines.SpeakerDiarization",
        "params": {
            "clustering": "VBxClustering",
            "segmentation": "$model/segmentation",
            "segmentation_step": 0.5,
            "segmentation_batch_size": 8,
            "embedding": "$model/embedding",
            "embedding_batch_size": 8,
            "embedding_exclude_overlap": True,
            "plda": "$model/plda",
        },
    },
    "params": {
        "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
        "segmentation": {"min_duration_off": 0.0},
    },
}


def _save_checkpoint(model: lightning.LightningModule, path: Path) -> None:
    """Write ``model`` as a Lightning checkpoint that ``Model.from_pretrained`` reads."""
    checkpoint: dict[str, Any] = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _segmentation_model() -> PyanNet:
    model = PyanNet(
        lstm={"hidden_size": 16, "num_layers": 1},
        linear={"hidden_size": 16, "num_layers": 1},
    )
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=SEGMENTATION_S,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    model.build()  # type: ignore[no-untyped-call]
    with torch.no_grad():
        # never predict the empty set, so every frame has a speaker and all steps run
        model.classifier.bias[0] = -10.0
    return model


def _embedding_model() -> WeSpeakerResNet34:
    model = WeSpeakerResNet34(num_mel_bins=40)
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=SEGMENTATION_S
    )
    return model


def _save_plda(directory: Path, rng: np.random.Generator) -> None:
    """VBx PLDA arrays with the shapes ``pyannote.audio.utils.vbx.vbx_setup`` expects."""
    directory.mkdir(parents=True, exist_ok=True)
    lda, _ = np.linalg.qr(rng.standard_normal((EMBEDDING_DIM, LDA_DIM)))
    np.savez(
        directory / "xvec_transform.npz",
        mean1=rng.standard_normal(EMBEDDING_DIM) * 0.01,
        mean2=rng.standard_normal(LDA_DIM) * 0.01,
        lda=lda,
    )
    transform, _ = np.linalg.qr(rng.standard_normal((LDA_DIM, LDA_DIM)))
    np.savez(
        directory / "plda.npz",
        mu=rng.standard_normal(LDA_DIM) * 0.01,
        tr=transform,
        psi=np.sort(rng.uniform(0.5, 5.0, LDA_DIM))[::-1].copy(),
    )


def build_random_pipeline(directory: Path, seed: int = 0) -> Path:
    """Write a random but complete pipeline directory and return it."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    _save_checkpoint(_segmentation_model(), directory / "segmentation" / "pytorch_model.bin")
    _save_checkpoint(_embedding_model(), directory / "embedding" / "pytorch_model.bin")
    _save_plda(directory / "plda", rng)
    (directory / "config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    return directory
