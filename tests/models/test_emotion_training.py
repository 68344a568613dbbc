"""The training set's speed and telephone copies and how they join the heads' training rows."""

from __future__ import annotations

import numpy as np

from models.emotion.encoder import DIMENSIONS
from models.emotion.train_cv import (
    acoustic_floor,
    acoustic_rows,
    context_embeddings,
    embedding_rows,
    mean_scores,
    scored_contexts,
    speaker_view,
    unchanged,
)
from models.emotion.train_data import (
    CONTEXTS,
    PACKED,
    SpeedCopy,
    TelephoneCopy,
    TrainSet,
    change_speed,
)
from pipelines.core.audio import SAMPLE_RATE


def test_a_faster_copy_is_shorter_and_higher() -> None:
    t = np.arange(SAMPLE_RATE, dtype=np.float64) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 200.0 * t).astype(np.float32)
    faster = change_speed(tone, 1.1)
    assert faster.dtype == np.float32
    assert abs(len(faster) - SAMPLE_RATE / 1.1) <= 2
    spectrum = np.abs(np.fft.rfft(faster * np.hanning(len(faster))))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(faster)
    assert abs(peak_hz - 220.0) < 3.0
    assert len(change_speed(tone, 0.9)) > len(tone)


def _train_set(copies: int, phone: bool = False) -> TrainSet:
    rng = np.random.default_rng(0)
    y = np.array(["anger", "happiness", "neutral"] * 4)
    speakers = np.array(["03"] * 6 + ["08"] * 6)

    def block(offset: float, width: int) -> np.ndarray:
        return rng.normal(offset, 1.0, size=(len(y), width))

    return TrainSet(
        y,
        speakers,
        block(0.0, 5),
        {c: block(0.0, DIMENSIONS) for c in CONTEXTS},
        tuple(
            SpeedCopy(s, block(10.0 * (i + 1), 5), {c: block(0.0, DIMENSIONS) for c in PACKED})
            for i, s in enumerate((0.9, 1.1)[:copies])
        ),
        TelephoneCopy(block(30.0, 5), {c: block(30.0, DIMENSIONS) for c in CONTEXTS})
        if phone
        else None,
    )


def test_copies_add_training_rows_of_the_kept_speakers_only() -> None:
    data = _train_set(copies=2)
    keep = data.speakers == "03"
    x, y = acoustic_rows(data, keep, unchanged)
    assert x.shape == (6 * 3, 5) and list(y) == list(data.y[keep]) * 3
    e, ye = embedding_rows(data, keep, unchanged)
    assert e.shape == (6 * (len(CONTEXTS) + 2 * len(PACKED)), DIMENSIONS)
    assert len(ye) == len(e)
    plain, _ = acoustic_rows(_train_set(copies=0), keep, unchanged)
    assert plain.shape == (6, 5)


def test_each_copy_is_z_scored_as_a_speaker_of_its_own() -> None:
    data = _train_set(copies=2)
    everyone = np.ones(len(data.y), dtype=bool)
    view = speaker_view(data.speakers, acoustic_floor(data, everyone))
    x, _ = acoustic_rows(data, everyone, view)
    # the copies sit 10 and 20 away from the clips; each block is centred on its own
    for block in np.split(x, 3):
        for s in ("03", "08"):
            rows = block[data.speakers == s]
            np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-9)


def test_the_telephone_copy_adds_rows_and_contexts_of_the_kept_speakers_only() -> None:
    data = _train_set(copies=2, phone=True)
    keep = data.speakers == "03"
    x, y = acoustic_rows(data, keep, unchanged)
    assert x.shape == (6 * 4, 5) and list(y) == list(data.y[keep]) * 4
    np.testing.assert_array_equal(x[-6:], data.telephone.acoustic[keep])  # type: ignore[union-attr]
    e, _ = embedding_rows(data, keep, unchanged)
    assert e.shape == (6 * (2 * len(CONTEXTS) + 2 * len(PACKED)), DIMENSIONS)
    contexts = scored_contexts(data)
    assert contexts == (*CONTEXTS, "tel-packed0", "tel-packed1", "tel-packed2", "tel-alone")
    assert context_embeddings(data, "tel-alone") is data.telephone.embeddings["alone"]  # type: ignore[union-attr]
    assert scored_contexts(_train_set(copies=0)) == CONTEXTS
    # choices are made on the packed contexts of both, the encoded-alone ones are reported only
    per = {c: {"accuracy": 1.0 if "packed" in c else 0.0, "anger_f1": 0.5} for c in contexts}
    assert mean_scores(per) == {"accuracy": 1.0, "anger_f1": 0.5}
