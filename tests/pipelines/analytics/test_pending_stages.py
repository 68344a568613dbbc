"""Analytics stages built in another thread while the first call is transcribed
(`pipelines.registry.build_analytics_aside`, `pipelines.analytics.stage.PendingStages`)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from pipelines.analytics.stage import AnalyticsStages, PendingStages
from pipelines.batch import CallPipeline
from pipelines.compliance.policy import Policy, load_policy
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import (
    Audio,
    AudioSource,
    CallAudio,
    ModelInfo,
    ProgressHook,
    Segment,
    SpeechRegion,
    Transcript,
    no_progress,
)
from pipelines.transcribe.vocabulary import policy_terms

RATE = 16000
POLICY = Path(__file__).resolve().parents[3] / "samples/corpus/policies/harbor-home.yaml"


class BuildsDuringTranscription:
    """A transcriber that notes what it was given, then lets the stages' build finish."""

    model = ModelInfo("transcribe", "fake", "0", "0" * 64)

    def __init__(self, built: Future[AnalyticsStages], stages: AnalyticsStages | None) -> None:
        self.built, self.stages = built, stages
        self.built_when_called: bool | None = None
        self.vocabulary: tuple[str, ...] = ()

    def transcribe(
        self,
        call: CallAudio,
        *,
        hook: ProgressHook = no_progress,
        vocabulary: Sequence[str] = (),
        **_: object,
    ) -> Transcript:
        self.built_when_called, self.vocabulary = self.built.done(), tuple(vocabulary)
        if self.stages is None:
            self.built.set_exception(ModelUnavailableError("emotion", "weights missing"))
        else:
            self.built.set_result(self.stages)
        segment = Segment(0, 0.0, 2.0, "hello, how can I help you", (), "en", 0.9)
        return Transcript((segment,), ("en",), self.model)


class Nothing:
    def regions(self, audio: Audio) -> tuple[SpeechRegion, ...]:
        return ()


def mono_call() -> CallAudio:
    samples = np.zeros(2 * RATE, dtype=np.float32)
    return CallAudio(AudioSource("0" * 64, "wav", RATE, 1, 2.0), (Audio(samples, RATE, 0),))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICY)


def test_the_call_is_transcribed_with_the_policy_s_words_before_the_stages_are_built(
    policy: Policy,
) -> None:
    built: Future[AnalyticsStages] = Future()
    stages = AnalyticsStages(policy=policy)
    transcriber = BuildsDuringTranscription(built, stages)
    pipeline = CallPipeline(
        transcriber, analytics=PendingStages(policy, built), speech_detector=Nothing()
    )
    record = pipeline.analyze(mono_call(), layout="mono")
    assert transcriber.built_when_called is False
    assert set(policy_terms(policy)) <= set(transcriber.vocabulary)
    assert pipeline.analytics is stages
    assert record.segments[0].text == "hello, how can I help you"


def test_an_error_of_the_build_is_raised_by_the_call() -> None:
    built: Future[AnalyticsStages] = Future()
    pipeline = CallPipeline(
        BuildsDuringTranscription(built, None),
        analytics=PendingStages(None, built),
        speech_detector=Nothing(),
    )
    with pytest.raises(ModelUnavailableError, match="weights missing"):
        pipeline.analyze(mono_call(), layout="mono")


def test_the_stages_built_aside_are_the_configured_ones(policy: Policy) -> None:
    from pipelines.core.settings import get_settings
    from pipelines.registry import build_analytics_aside

    pending = build_analytics_aside(get_settings(), policy)
    assert pending.policy is policy
    stages = pending.wait()
    assert stages.policy is policy
    assert stages.redactor is not None and stages.acoustic_emotion is not None
    assert stages.compliance is not None and stages.topics is not None
