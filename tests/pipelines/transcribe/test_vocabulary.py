"""Decoding that knows the call: the policy's names (and a tenant's terms) bias whisper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from models.asr import DecodingOptions, Recognition
from models.encoder_cache import EncoderCache
from pipelines.compliance.policy import load_policy
from pipelines.core.types import Audio, AudioSource, CallAudio, ModelInfo, Samples
from pipelines.transcribe.stage import WhisperTranscriber
from pipelines.transcribe.vocabulary import MAX_TERMS, call_vocabulary, names_in, policy_terms

ROOT = Path(__file__).resolve().parents[3]


def test_names_are_capitalised_runs_inside_a_sentence() -> None:
    assert names_in("thanks for calling Harbor Home, this is ...") == ["Harbor Home"]
    assert names_in("Welcome to Brightline Mobile. How can I help?") == ["Brightline Mobile"]
    assert names_in("I've got your order up on screen") == []  # sentence-initial, and "I"
    assert names_in("tell me your PIN") == ["PIN"]


def test_policy_terms_are_its_names_and_named_keywords() -> None:
    sample = load_policy(ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml")
    assert policy_terms(sample) == ("Northwind",)
    harbor = load_policy(ROOT / "samples" / "corpus" / "policies" / "harbor-home.yaml")
    # "Harbor" is already in "Harbor Home"; CareShield is a keyword of its product rule
    assert policy_terms(harbor) == ("Harbor Home", "CareShield")
    assert policy_terms(None) == ()


def test_tenant_terms_come_first_and_the_list_is_bounded() -> None:
    sample = load_policy(ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml")
    assert call_vocabulary(sample, ["Kaffeeklatsch", "northwind"]) == (
        "Kaffeeklatsch",
        "northwind",
    )
    many = [f"Term{i}" for i in range(40)]
    assert len(call_vocabulary(None, many)) == MAX_TERMS


class RecordingRecognizer:
    """Isolates the transcriber: remembers the options each channel was decoded with."""

    def __init__(self) -> None:
        self.seen: list[DecodingOptions] = []

    info = ModelInfo(stage="transcribe", name="fake", version="0", sha256="0" * 64)
    multilingual = True
    supported_languages = ("en",)
    encoder_cache = EncoderCache()  # the stage keeps a channel's encoder passes in it

    def recognize(
        self,
        samples: Samples,
        options: DecodingOptions,
        progress: Callable[[float], None] | None = None,
    ) -> Recognition:
        self.seen.append(options)
        return Recognition(
            segments=(),
            language="en",
            language_probability=1.0,
            duration_after_vad=0.0,
            options={"hotwords": options.hotwords},
        )

    def detect_language(self, samples: Samples) -> tuple[str, float]:
        return "en", 1.0


def test_the_vocabulary_reaches_whisper_as_hotwords() -> None:
    recognizer = RecordingRecognizer()
    transcriber = WhisperTranscriber(recognizer)  # type: ignore[arg-type]
    tone = (0.3 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    call = CallAudio(AudioSource("0" * 64, "wav", 16000, 1, 1.0), (Audio(tone, 16000, 0),))
    transcriber.transcribe(call, vocabulary=("Harbor Home", "Brightline"))
    transcriber.transcribe(call)
    assert [o.hotwords for o in recognizer.seen] == ["Harbor Home, Brightline", None]


def test_settings_carry_deployment_terms_and_can_turn_policy_names_off() -> None:
    from pipelines.core.settings import ModelSettings, Settings

    settings = Settings(models=ModelSettings(vocabulary=["Kaffeeklatsch"], policy_hotwords=False))
    assert settings.models.vocabulary == ["Kaffeeklatsch"]
    assert settings.models.policy_hotwords is False
    assert Settings().models.policy_hotwords is True
