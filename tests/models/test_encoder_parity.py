"""The numpy encoders (what every CPU run uses) against their torch originals on the CPU: the
emotion encoder's whisper blocks against ``TorchWhisperBlocks`` (the GPU path), resemblyzer's
GE2E LSTM against resemblyzer's own ``VoiceEncoder``. They must agree to float32 precision, so
records made without torch are the records made with it (tests/pipelines/golden.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.emotion.encoder import MEL_FRAMES, WhisperBlocks
from models.emotion.encoder_torch import TorchWhisperBlocks
from models.speaker_embedding import SpeakerEmbedder, resemblyzer_weights
from models.whisper import resolve_whisper

torch = pytest.importorskip("torch")  # the oracle; a declared dependency, always installed


def test_numpy_whisper_blocks_match_torch_on_speech(data_dir: Path) -> None:
    from faster_whisper import decode_audio
    from faster_whisper.feature_extractor import FeatureExtractor

    model_bin = Path(resolve_whisper("base").location) / "model.bin"
    wav = decode_audio(str(data_dir / "en" / "jfk.wav"))
    mel = np.asarray(FeatureExtractor()(wav), dtype=np.float32)
    window = np.zeros((mel.shape[0], MEL_FRAMES), dtype=np.float32)
    window[:, : min(mel.shape[1], MEL_FRAMES)] = mel[:, :MEL_FRAMES]
    ours = WhisperBlocks(model_bin)(window)
    reference = TorchWhisperBlocks(model_bin)(window)
    assert ours.shape == reference.shape == (MEL_FRAMES // 2, 512)
    assert np.abs(ours - reference).max() <= 1e-4 * np.abs(reference).max()
    pooled, pooled_reference = ours.mean(axis=0), reference.mean(axis=0)
    assert np.abs(pooled - pooled_reference).max() <= 1e-5 * np.abs(pooled_reference).max()


def test_numpy_ge2e_matches_resemblyzer() -> None:
    from resemblyzer import VoiceEncoder

    rng = np.random.default_rng(7)
    mels = np.abs(rng.standard_normal((9, 160, 40))).astype(np.float32)
    mels[3] = 0.0  # silence: both give NaN, which the embedder turns into zeros
    reference_model = VoiceEncoder(device="cpu", verbose=False, weights_fpath=resemblyzer_weights())
    with torch.no_grad():
        reference = reference_model(torch.from_numpy(mels)).numpy()
    ours = SpeakerEmbedder()._model(mels)
    assert np.allclose(np.nan_to_num(ours), np.nan_to_num(reference), atol=1e-5)
    assert np.isnan(ours[3]).all() == np.isnan(reference[3]).all()
