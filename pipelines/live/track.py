"""One party of a live call: VAD endpointing, partial and final decodes, phrase commits.

Times inside a track are sample indices at 16 kHz from the track's first sample. A *piece* is
the part of an utterance not yet final: it opens at the first speech window (minus a pre-roll)
and closes after ``endpoint_silence_s`` of silence or at the forced cut. A long utterance is
committed phrase by phrase as it is spoken: at a short pause (the decode taken there) or where
two consecutive hypotheses agree on a prefix that ends a phrase.

Every method here runs under the owning transcriber's lock, except the decodes themselves.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from models.asr_stream import UtteranceOptions, UtteranceResult
from models.streaming_vad import WINDOW, SileroStream
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.types import Word
from pipelines.live.buffer import SampleBuffer
from pipelines.live.events import (
    Final,
    Host,
    LiveOptions,
    Notice,
    NoticeKind,
    Partial,
    TrackKey,
)
from pipelines.live.segments import (
    final_segment,
    fold,
    gap_after,
    gap_middle,
    has_digit,
    longest_run,
    partial_segment,
    splittable,
)

logger = logging.getLogger(__name__)
_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_CLAUSE_END = (",", ";", ":", "，", "；", "：", "、")


@dataclass(eq=False)
class FinalJob:
    """A final (or speculative final) decode of samples [start, end) of a piece."""

    piece: Piece
    start: int
    end: int
    speech_end: int = -1  # for a speculative decode: the last speech it saw
    queued: float = field(default_factory=time.monotonic)
    result: UtteranceResult | None = None


@dataclass(eq=False)
class Piece:
    id: int
    start: int
    speech_end: int
    speech: int = 0
    partial_mark: int = 0
    emitted_end: int = 0  # audio end of the newest partial decoded
    shown: bool = False  # a partial of it was sent (a dropped final retracts it)
    closed: int | None = None  # end sample once the piece is closed
    spec: FinalJob | None = None
    prev_words: tuple[Word, ...] | None = None
    probs: list[tuple[int, float]] = field(default_factory=list)


class Track:
    def __init__(self, key: TrackKey, channel: int, host: Host) -> None:
        self.key = key
        self.channel = channel
        self.host = host
        self.options: LiveOptions = host.options
        self.vad = SileroStream()
        self.audio = SampleBuffer()
        self.vad_pos = 0
        self.piece: Piece | None = None
        self.last_end = 0
        self.language: str | None = None
        self.jobs: list[FinalJob] = []
        self.lagging = False
        self.slowdown = 1.0  # partial interval multiplier while compute lags
        self.lag_noticed = -float("inf")  # when lag was last announced (monotonic)
        self.announced = False

    def seconds(self, samples: int) -> float:
        return samples / SAMPLE_RATE

    # ---- audio in (caller's thread) ---------------------------------------------------

    def feed(self, samples: np.ndarray) -> None:
        self.audio.append(samples)
        for p in self.vad.push(samples):
            self._window(float(p))
            self.vad_pos += WINDOW
        self._trim()

    def flush(self) -> None:
        """End of the track's audio: the open piece becomes final."""
        piece = self.piece
        if piece is not None:
            end = min(piece.speech_end + _samples(self.options.post_roll_s), self.audio.end)
            self._close(piece, max(end, piece.speech_end))

    def _window(self, p: float) -> None:
        o = self.options
        w_start, w_end = self.vad_pos, self.vad_pos + WINDOW
        piece = self.piece
        continuing = piece is not None and piece.speech_end == w_start and p >= o.neg_threshold
        if p >= o.threshold or continuing:
            if piece is None:
                start = max(w_start - _samples(o.pre_roll_s), self.last_end, self.audio.base)
                piece = self.piece = Piece(self.host.reserve_id(), start, w_end, partial_mark=start)
            elif piece.speech_end < w_start:
                self._commit_at_pause(piece)  # speech goes on after a pause
            piece.speech_end = w_end
            piece.speech += WINDOW
        elif piece is not None:
            silence = w_end - piece.speech_end
            end = min(piece.speech_end + _samples(o.post_roll_s), w_end)
            if silence >= _samples(o.endpoint_silence_s):
                self._close(piece, end)
                return
            if (
                silence >= _samples(o.speculate_after_s)
                and piece.speech >= _samples(o.min_speech_s)
                and (piece.spec is None or piece.spec.speech_end != piece.speech_end)
            ):
                piece.spec = FinalJob(piece, piece.start, end, piece.speech_end)
                piece.partial_mark = w_end  # its result is also the next partial
                self._submit(piece.spec)
        if piece is None:
            return
        piece.probs.append((w_start, p))
        if w_end - piece.start >= _samples(o.max_utterance_s):
            self._forced_cut(piece, w_end)
        elif w_end - piece.partial_mark >= max(
            self.slowdown * _samples(o.partial_interval_s),
            o.partial_interval_ratio * (w_end - piece.start),
        ) and (w_end - piece.speech_end < _samples(o.speculate_after_s)):
            piece.partial_mark = w_end
            self.host.request_partial(self.key, self.run_partial)

    def _close(self, piece: Piece, end: int) -> None:
        self.piece = None
        self.last_end = end
        if piece.speech < _samples(self.options.min_speech_s):
            if piece.shown:
                self._notice("retracted", "too little speech", piece.id)
            return
        spec = piece.spec
        if spec is not None and spec.start == piece.start and spec.speech_end == piece.speech_end:
            # decoded at the pause with all of the speech: it is the final (its audio may
            # stop a little short of ``end``, in the silence)
            piece.closed = spec.end
            if spec.result is not None:
                self._finalize(spec, spec.result)
            return  # else the queued or running speculative decode finalises it
        piece.closed = end
        self._submit(FinalJob(piece, piece.start, end))

    def _forced_cut(self, piece: Piece, now: int) -> None:
        """Close at the quietest window of the last ``cut_window_s``; the rest goes on."""
        o = self.options
        earliest = now - _samples(o.cut_window_s)
        tail = [(p, s) for s, p in piece.probs if s >= earliest and s > piece.start]
        cut = min(tail)[1] if tail else now
        rest = Piece(self.host.reserve_id(), cut, max(piece.speech_end, cut), partial_mark=cut)
        rest.probs = [(s, p) for s, p in piece.probs if s >= cut]
        rest.speech = WINDOW * sum(p >= o.threshold for _, p in rest.probs)
        piece.speech -= rest.speech
        piece.speech_end = min(piece.speech_end, cut)
        self._close(piece, cut)
        self.piece = rest
        self.last_end = cut

    def _submit(self, job: FinalJob) -> None:
        self.jobs.append(job)
        self.host.submit_final(lambda: self.run_final(job))

    def _trim(self) -> None:
        keep = self.vad_pos - _samples(self.options.keep_s)
        if self.piece is not None:
            keep = min(keep, self.piece.start)
        for job in self.jobs:
            keep = min(keep, job.start)
        self.audio.trim(keep)

    # ---- decodes (worker thread) ------------------------------------------------------

    def run_final(self, job: FinalJob) -> None:
        with self.host.lock:
            if self.host.abandoned or not self._wanted(job):
                self._done(job)
                return
            audio = self.audio.slice(job.start, job.end)
            prior, options = self._prior(self.options.final)
            self._lag(time.monotonic() - job.queued, "a final waited")
        try:
            result = self.host.decoder.decode(
                audio, options, language=self.options.language, prior_language=prior
            )
        except Exception as exc:
            with self.host.lock:
                self._done(job)
                self._notice("error", f"decode failed: {exc}", job.piece.id)
            raise
        with self.host.lock:
            self._done(job)
            job.result = result
            piece = job.piece
            if piece.closed == job.end:
                self._finalize(job, result)
            elif self.piece is piece and piece.start == job.start and job.end > piece.emitted_end:
                if piece.speech_end != job.speech_end and self._commit_at_pause(piece):
                    return  # speech went on after the pause while this decode ran
                piece.emitted_end = job.end
                self._emit_partial(piece, job.start, job.end, result)
                if job.end - job.start >= _samples(self.options.agreement_after_s):
                    # decoded at a pause: the words before it are whole (no margin needed)
                    self._agree(piece, job.start, job.end, result, margin_s=0.0)

    def run_partial(self, waited: float) -> None:
        o = self.options
        with self.host.lock:
            backlog = self.host.final_backlog_s()
            if backlog > o.shed_partials_s:
                self._lag(max(waited, o.max_lag_s + 0.01), "partials skipped while finals wait")
                return
            self._lag(waited, "a partial waited")
            piece = self.piece
            if piece is None or self.host.abandoned:
                return
            start, end = piece.start, self.vad_pos
            if end - start < _samples(0.3):
                return
            long = end - start >= _samples(o.agreement_after_s)
            # words from one interval earlier, so that agreement can start at once
            timed = end - start >= _samples(o.agreement_after_s - o.partial_interval_s)
            options = dataclasses.replace(o.partial, word_timestamps=timed)
            audio = self.audio.slice(start, end)
            prior, options = self._prior(options)
            # partials keep the track's language (the final detects it on its own audio)
            language = o.language or self.language
        result = self.host.decoder.decode(audio, options, language=language, prior_language=prior)
        with self.host.lock:
            if self.piece is not piece or piece.start != start:
                return
            if end > piece.emitted_end:
                piece.emitted_end = end
                self._emit_partial(piece, start, end, result)
            if long:
                self._agree(piece, start, end, result, margin_s=o.agreement_margin_s)
            elif timed:
                piece.prev_words = result.words

    def _prior(self, options: UtteranceOptions) -> tuple[str | None, UtteranceOptions]:
        """The language a decode holds to, and its options. Until whisper is sure of this
        track's language, the call's (another track's) is a weak prior: a detection at
        ``settle_probability`` moves it, however short (a Spanish caller's first "Hola"), and
        an unsure one keeps it (a garbled "Hi James" heard as Japanese on an English call)."""
        if self.language is not None:
            return self.language, options
        borrowed = self.host.call_language()
        weak = dataclasses.replace(
            options, switch_probability=self.options.settle_probability, switch_min_s=0.0
        )
        return borrowed, weak

    def _lag(self, waited: float, what: str) -> None:
        """Space partials out while compute lags; say when it starts or stops lagging.

        A lag episode is announced once; one that starts within ``notice_gap_s`` of the
        previous announcement is not announced again (nor is its recovery).
        """
        o = self.options
        if waited > o.max_lag_s:
            self.slowdown = min(self.slowdown * 2, 4.0)
        elif waited < o.max_lag_s / 4:
            self.slowdown = max(self.slowdown / 2, 1.0)
        now = time.monotonic()
        if waited > o.max_lag_s and not self.lagging:
            self.lagging = True
            if now - self.lag_noticed >= o.notice_gap_s:
                self.lag_noticed = now
                self.announced = True
                self._notice("lag", f"{what} {waited:.1f} s for compute; partials are merged")
        elif waited < o.max_lag_s / 2 and self.lagging:
            self.lagging = False
            if self.announced:
                self.announced = False
                self._notice("recovered", f"{what} {waited:.2f} s")

    def behind_s(self) -> float:
        """See `LiveTranscriber.behind_seconds`."""
        ends = [job.end for job in self.jobs if job.result is None and self._wanted(job)]
        return (self.audio.end - min(ends)) / SAMPLE_RATE if ends else 0.0

    def _wanted(self, job: FinalJob) -> bool:
        piece = job.piece
        if piece.closed is not None:
            return piece.closed == job.end and piece.start == job.start
        return (
            self.piece is piece
            and piece.spec is job
            and piece.start == job.start
            and (
                piece.speech_end == job.speech_end  # no speech since: still the final to be
                or self._phrase_long(job)  # speech went on: the phrase before the pause
            )
        )

    def _done(self, job: FinalJob) -> None:
        if job in self.jobs:
            self.jobs.remove(job)

    def _agree(
        self, piece: Piece, start: int, end: int, result: UtteranceResult, *, margin_s: float
    ) -> None:
        """Commit the prefix this hypothesis and the previous one agree on (LocalAgreement-2),
        up to the last phrase end at least ``margin_s`` before the newest audio."""
        words, previous = result.words, piece.prev_words
        piece.prev_words = words
        if previous is None or not words:
            return
        agreed = 0
        for new, old in zip(words, previous, strict=False):
            if fold(new.word) != fold(old.word):
                break
            agreed += 1
        o = self.options
        limit = (end - start) / SAMPLE_RATE - margin_s
        safe = [j for j in range(agreed) if words[j].end <= limit]
        cuts = {j: self._phrase_end(piece, start, words, j) for j in safe}
        phrases = [j for j, cut in cuts.items() if cut is not None]
        if not phrases:
            # hypotheses that keep changing (hard audio) do not hold a phrase back for long:
            # a pause Silero heard long enough ago ends one even without agreement
            stale = (end - start) / SAMPLE_RATE - o.unagreed_commit_s
            older = [j for j in range(len(words)) if words[j].end <= stale]
            cuts = {j: self._phrase_end(piece, start, words, j, pause_only=True) for j in older}
            phrases = [j for j, cut in cuts.items() if cut is not None]
        last = phrases[-1] if phrases else -1
        if last + 1 < o.min_phrase_words and end - start >= _samples(o.commit_after_s):
            # no phrase end heard in a long stretch: commit at the widest gap between words
            splittable = [j for j in safe[o.min_phrase_words - 1 :] if splittable(words, j)]
            last = max(splittable, key=lambda j: (gap_after(words, j), j), default=last)
        if last + 1 < o.min_phrase_words:
            return
        cut = cuts.get(last) or start + _samples(gap_middle(words, last))
        committed = dataclasses.replace(
            result,
            words=words[: last + 1],
            text="".join(w.word for w in words[: last + 1]),
        )
        self._commit(piece, cut, committed)

    def _commit_at_pause(self, piece: Piece) -> bool:
        """Speech went on after a pause at which the piece's speculative final was decoded:
        that decode is the final of everything before the pause (as if the utterance had
        ended there), and the rest goes on. Not for short pieces, nor after a digit (a card
        read in groups stays in one final, for redaction), nor in another language than the
        track's or the call's (a short "Hi" heard as Japanese waits for more speech)."""
        job = piece.spec
        if job is None or job.result is None or job.start != piece.start:
            return False
        words, expected = job.result.words, self.language or self.host.call_language()
        if (
            not self._phrase_long(job)
            or len(words) < self.options.min_phrase_words
            or has_digit(words[-1].word)
            or expected not in (None, job.result.language)
        ):
            return False
        self._commit(piece, job.end, job.result)
        return True

    def _phrase_long(self, job: FinalJob) -> bool:
        """Is the decode taken at a pause long enough to commit as a phrase of its own?"""
        return job.end - job.start >= _samples(self.options.pause_commit_after_s)

    def _commit(self, piece: Piece, cut: int, committed: UtteranceResult) -> None:
        """``committed`` is final up to ``cut``; the piece goes on from there."""
        o = self.options
        logger.debug("phrase final up to %.2f s: %r", cut / SAMPLE_RATE, committed.text)
        heard = WINDOW * sum(p >= o.threshold for w, p in piece.probs if w < cut)
        self._emit_final(piece.id, piece.start, cut, committed, piece.shown, heard, False)
        piece.id = self.host.reserve_id()
        piece.start = piece.partial_mark = cut
        piece.prev_words = None
        piece.emitted_end = 0
        piece.shown = False
        piece.spec = None
        piece.probs = [(s, p) for s, p in piece.probs if s >= cut]
        piece.speech = WINDOW * sum(p >= o.threshold for _, p in piece.probs)

    def _phrase_end(
        self,
        piece: Piece,
        start: int,
        words: tuple[Word, ...],
        index: int,
        *,
        pause_only: bool = False,
    ) -> int | None:
        """Where to cut if a phrase ends after ``words[index]`` (None if none does): in the
        middle of the pause Silero heard there, or of the gap between the words when a
        sentence or clause mark or a gap between the word timestamps says so. Never inside a
        run of digits (a card or phone number stays whole in one final, for redaction)."""
        if not splittable(words, index):
            return None
        word, following = words[index], (words[index + 1] if index + 1 < len(words) else None)
        o = self.options
        # word timestamps drift by a window or two: look for the pause from a little before
        # the word's end to the next word's end
        low = start + _samples(word.end - 0.1)
        high = start + _samples(following.end if following is not None else word.end + 0.3)
        quiet = [s for s, p in piece.probs if low <= s < high and p < o.threshold]
        pause = longest_run(quiet, WINDOW)
        if pause is not None and pause[1] - pause[0] >= _samples(o.phrase_pause_s):
            return (pause[0] + pause[1]) // 2
        if pause_only:
            return None
        marked = word.word.strip().endswith(_SENTENCE_END + _CLAUSE_END)
        if marked or gap_after(words, index) >= o.phrase_pause_s:
            return start + _samples(gap_middle(words, index))
        return None

    def _finalize(self, job: FinalJob, result: UtteranceResult) -> None:
        piece = job.piece
        self._emit_final(piece.id, job.start, job.end, result, piece.shown, piece.speech)

    # ---- events -----------------------------------------------------------------------

    def _emit_partial(self, piece: Piece, start: int, end: int, result: UtteranceResult) -> None:
        segment = partial_segment(
            piece.id, start / SAMPLE_RATE, end / SAMPLE_RATE, result, self.channel
        )
        if segment is not None:
            piece.shown = True
            self.host.emit(Partial(segment))

    def _emit_final(
        self,
        segment_id: int,
        start: int,
        end: int,
        result: UtteranceResult,
        had_partials: bool,
        speech: int,
        closes_utterance: bool = True,
    ) -> None:
        """Send a final (``speech``: samples of it Silero heard as speech). Where Silero heard
        enough speech, whisper's own no-speech guess does not drop it: on the rest of a
        committed utterance, with no beginning to go on, whisper often rates hard speech
        (a caller reading "H K 7 7 2" on a noisy line) as no speech, and it was lost."""
        guards = self.options.guards
        if speech >= _samples(self.options.trust_vad_speech_s):
            guards = dataclasses.replace(guards, max_no_speech_prob=1.0)
        segment, dropped = final_segment(
            segment_id, start / SAMPLE_RATE, end / SAMPLE_RATE, result, self.channel, guards
        )
        if segment is None:
            reasons = ", ".join(sorted(dropped)) or "no text"
            if had_partials:
                self._notice("retracted", reasons, segment_id)
            elif speech >= _samples(self.options.trust_vad_speech_s):
                # speech was heard but nothing can be shown for it: say so, with its time
                span = f"{start / SAMPLE_RATE:.2f}-{end / SAMPLE_RATE:.2f} s"
                self._notice("unrecognized", f"speech at {span} not transcribed ({reasons})")
            return
        if result.language_probability >= self.options.settle_probability:
            self.language = result.language
        audio = self.audio.slice(start, end)
        self.host.emit(Final(segment, audio=audio, closes_utterance=closes_utterance))

    def _notice(self, kind: NoticeKind, detail: str, segment_id: int | None = None) -> None:
        self.host.emit(
            Notice(
                kind,
                detail,
                track=self.key,
                segment_id=segment_id,
                at=round(self.vad_pos / SAMPLE_RATE, 3),
            )
        )


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)
