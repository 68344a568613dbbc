"""PII redaction: written and spoken forms, timing, words, translations, logs, and a real call."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from pathlib import Path

import pytest

from pipelines.core.types import Segment, Translation, Word
from pipelines.pii.log_filter import PiiLogFilter
from pipelines.pii.redactor import (
    PatternPiiRedactor,
    PiiRedaction,
    PiiRedactor,
    redact_text,
)

CARD = "4111 1111 1111 1111"


def words_of(text: str, start: float, end: float) -> tuple[Word, ...]:
    """Whisper-like words (leading blank) spread evenly over ``[start, end]``."""
    parts = text.split()
    step = (end - start) / len(parts)
    return tuple(
        Word(start + i * step, start + (i + 1) * step, " " + p, 0.9) for i, p in enumerate(parts)
    )


def seg(
    id: int,
    text: str,
    start: float = 0.0,
    end: float = 5.0,
    *,
    speaker: str | None = "SPEAKER_00",
    channel: int = 0,
    words: tuple[Word, ...] | None = None,
    translation: Translation | None = None,
) -> Segment:
    return Segment(
        id=id,
        start=start,
        end=end,
        text=text,
        words=words_of(text, start, end) if words is None else words,
        language="en",
        confidence=0.9,
        channel=channel,
        speaker=speaker,
        translation=translation,
    )


def assert_clean(result: object, *secrets: str) -> None:
    """No secret appears anywhere in the result, with or without its separators."""
    dump = repr(result).lower()
    for secret in secrets:
        assert secret.lower() not in dump, secret
        squeezed = re.sub(r"[\s\-.,]", "", secret.lower())
        assert squeezed not in re.sub(r"[\s\-.,]", "", dump), secret


REDACTED = [
    # cards: written, dashed, spoken digit by digit, "double"/"triple", "oh" for zero
    ("my card is 4111 1111 1111 1111 thanks", "my card is [CARD] thanks", "4111111111111111"),
    ("card 4111-1111-1111-1111 ok", "card [CARD] ok", "4111111111111111"),
    ("it is 5555555555554444.", "it is [CARD].", "5555555555554444"),
    (
        "four one one one one one one one one one one one one one one one",
        "[CARD]",
        "one one one one one one",
    ),
    (
        "it's four triple one, double one double one, double one double one, one one one one",
        "it's [CARD]",
        "triple one",
    ),
    (
        "the number is three seven eight two, eight two two four six three, one oh oh oh five",
        "the number is [CARD]",
        "eight two two four",
    ),
    # card security codes, always redacted after a security-code phrase
    ("and the security code is 737", "and the security code is [CVV]", "737"),
    ("my CVV is 1234.", "my CVV is [CVV].", "1234"),
    (
        "the three digits on the back are seven three seven",
        "the three digits on the back are [CVV]",
        "seven three seven",
    ),
    # phone numbers
    ("call me on 020 7946 0958", "call me on [PHONE]", "2079460958"),
    ("you can reach me at (415) 555-2671", "you can reach me at [PHONE]", "5552671"),
    ("my number is +44 20 7946 0958 okay", "my number is [PHONE] okay", "2079460958"),
    (
        "my mobile is oh seven seven oh oh nine oh oh one two three",
        "my mobile is [PHONE]",
        "nine oh oh",
    ),
    # e-mail addresses, written and spoken
    ("email john.smith@gmail.com please", "email [EMAIL] please", "john.smith"),
    ("it's john dot smith at gmail dot com", "it's [EMAIL]", "smith"),
    ("it is j o h n dot smith at gmail.com", "it is [EMAIL]", "smith"),
    # ... and as speech recognizers write "help at northwind dot com"
    ("or at helpat-northwind.com.", "or at [EMAIL].", "northwind"),
    ("you can reach us at help-at-northwind.com", "you can reach us at [EMAIL]", "northwind"),
    ("or at help at northwind dot com.", "or at [EMAIL].", "northwind"),
    ("write to help@northwind.com today", "write to [EMAIL] today", "northwind"),
    ("e-mail us at helpat.northwind.com", "e-mail us at [EMAIL]", "northwind"),
    # national ID numbers
    (
        "my social security number is 219-09-9999",
        "my social security number is [NATIONAL_ID]",
        "219",
    ),
    (
        "social security two one nine oh nine nine nine nine nine",
        "social security [NATIONAL_ID]",
        "nine nine nine",
    ),
    ("national insurance AB 12 34 56 C", "national insurance [NATIONAL_ID]", "AB 12"),
    (
        "my national insurance is A B one two three four five six C",
        "my national insurance is [NATIONAL_ID]",
        "three four five",
    ),
    ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN [IBAN]", "WEST"),
    # dates of birth
    ("my date of birth is 12/03/1985", "my date of birth is [DOB]", "1985"),
    (
        "I was born on the third of March nineteen eighty-five, and I",
        "I was born on the [DOB], and I",
        "nineteen",
    ),
    ("DOB oh three oh five eighty five", "DOB [DOB]", "eighty five"),
    (  # the agent asks, the caller answers (segments of two speakers join with a line break)
        "can you confirm your date of birth, please?\nYes, it's the 23rd of March 1965.",
        "can you confirm your date of birth, please?\nYes, it's the [DOB].",
        "1965",
    ),
    (
        "mi fecha de nacimiento es el 23 de marzo de 1965",
        "mi fecha de nacimiento es el [DOB]",
        "1965",
    ),
    ("ma date de naissance est le 23 mars 1965", "ma date de naissance est le [DOB]", "1965"),
    ("je suis née le 23 mars 1965", "je suis née le [DOB]", "mars"),
    # street addresses, postcodes and ZIP codes said as part of an address
    (
        "I live at 221B Baker Street, London NW1 6XE",
        "I live at [ADDRESS], London [ADDRESS]",
        "Baker",
    ),
    ("it's twenty two acacia avenue", "it's [ADDRESS]", "acacia"),
    ("my zip code is nine oh two one oh", "my zip code is [ADDRESS]", "90210"),
    ("my postcode is m14 5rt", "my postcode is [ADDRESS]", "5rt"),
    ("post code M14, 5RT.", "post code [ADDRESS].", "5RT"),
    ("The postcode is M14-5RT.", "The postcode is [ADDRESS].", "5RT"),
    ("mi código postal es 28013", "mi código postal es [ADDRESS]", "28013"),
    ("mon code postal est 75011", "mon code postal est [ADDRESS]", "75011"),
    # "help at northwind dot com" glued into one word by the transcriber
    ("or at helpatnorthwind.com. Anything else?", "or at [EMAIL]. Anything else?", "helpat"),
    # a long run named as nothing: a card garbled past the Luhn check (whisper's translation of
    # a Spanish card read as "Mielcientronse, Mielcientronse")
    ("1,000,000,000,000,000.", "[CARD].", "000,000"),
    ("it is 4111 1111 1111 1112", "it is [CARD]", "1112"),
    # the part of an IBAN a caller read out in groups that the transcriber kept, named as nothing
    ("That's nearly 1-5. 1-3-3-1. 9-2-5-6. 1-9.", "That's nearly [REFERENCE].", "1331"),
    ("it's 1331. 9268. 19", "it's [REFERENCE]", "9268"),
]


@pytest.mark.parametrize(("text", "expected", "secret"), REDACTED)
def test_redacts_written_and_spoken_forms(
    redactor: PatternPiiRedactor, text: str, expected: str, secret: str
) -> None:
    result = redactor.redact([seg(0, text)])
    assert result.segments[0].text == expected
    assert {e.type for e in result.entities} == set(re.findall(r"\[([A-Z_]+)\]", expected))
    assert_clean(result, secret)


KEPT = [
    "my order number is 4111 1111 1111 1112",  # fails the Luhn check
    "it cost 49 dollars at 3 pm",
    "that's $1,250.50 in total for 12 items",
    "the meeting is at 10:30 on 12/03/2024",
    "we have 3 cards and 2 accounts",
    "I paid 20 on the way home",
    "I'm at home, one moment please",
    "Oh, that's fine",
    "visit flat-rate.com for our offers",  # a website, said with no cue for an address
    "you can reach us at northwind.com",
    "my order from the 23rd of March 2024 is late",  # a date, but no birth
    "my flight is MA14 5RT",  # shaped like a postcode, said as no address
    "we sold 19,000,000 units, 1,000,000,000 dollars' worth",  # amounts, not read-out digits
]


@pytest.mark.parametrize("text", KEPT)
def test_keeps_ordinary_numbers(redactor: PatternPiiRedactor, text: str) -> None:
    result = redactor.redact([seg(0, text)])
    assert result.segments[0].text == text
    assert result.entities == ()


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("order 123456", "order [REFERENCE]"),
        ("reference 8 4 7 2", "reference [REFERENCE]"),
        ("my account number is seven seven one two oh", "my account number is [REFERENCE]"),
    ],
)
def test_order_account_and_case_numbers_are_redacted(
    redactor: PatternPiiRedactor, text: str, redacted: str
) -> None:
    """They link a customer's calls (keyed, never stored raw): personal data."""
    result = redactor.redact([seg(0, text)])
    assert result.segments[0].text == redacted
    assert [e.type for e in result.entities] == ["REFERENCE"]


def test_card_read_across_two_segments_of_one_speaker(redactor: PatternPiiRedactor) -> None:
    segments = [seg(0, "reference 4111 1111", 0.0, 2.0), seg(1, "1111 1111", 2.2, 3.5)]
    result = redactor.redact(segments)
    assert [s.text for s in result.segments] == ["reference [CARD]", "[CARD]"]
    assert [(e.type, e.segment_id) for e in result.entities] == [("CARD", 0), ("CARD", 1)]
    assert_clean(result, "1111")

    other_speaker = [segments[0], seg(1, "1111 1111", 2.2, 3.5, speaker="SPEAKER_01")]
    assert [s.text for s in redactor.redact(other_speaker).segments] == [
        "reference [REFERENCE]",  # no card alone: a reference number
        "1111 1111",
    ]


def test_digits_after_a_garbled_word_still_finish_the_card(redactor: PatternPiiRedactor) -> None:
    # whisper heard "mil ciento once" as a word, which broke the run; the digits after it are
    # the same caller's card, not an ordinary number
    card = seg(0, "El número de mi tarjeta es 4111 1111 1111 1111,", 3.6, 8.0)
    garbled = seg(1, "Mielcientronse, mielcientronse,", 8.0, 9.7)
    tail = seg(2, "111, gracias.", 10.4, 11.8)
    result = redactor.redact([card, garbled, tail])
    assert [s.text for s in result.segments] == [
        "El número de mi tarjeta es [CARD],",
        garbled.text,
        "[CARD], gracias.",
    ]
    assert [e.segment_id for e in result.entities] == [0, 2]

    # another party's digits, the same party's much later or not opening the segment, stay
    later = seg(2, "111, gracias.", 8.0 + redactor.options.number_gap_s + 0.5, 15.0)
    other = seg(2, "111, gracias.", 10.4, 11.8, speaker="SPEAKER_01")
    inside = seg(2, "gracias, son 111 euros.", 10.4, 11.8)
    for kept in (later, other, inside):
        assert redactor.redact([card, garbled, kept]).segments[2].text == kept.text


def test_security_code_answered_by_the_other_speaker(redactor: PatternPiiRedactor) -> None:
    segments = [
        seg(0, "Can you read me the three digits on the back?", 0.0, 3.0, speaker="agent"),
        seg(1, "Yes, it's seven three seven.", 3.5, 5.0, speaker="customer", channel=1),
    ]
    result = redactor.redact(segments)
    assert result.segments[1].text == "Yes, it's [CVV]."
    # nothing is said after the code: its span reaches on as far as max_extend_s allows
    end = 5.0 + redactor.options.max_extend_s
    assert result.audio_spans(all_channels=False) == ((result.entities[0].start, end, 1),)
    assert result.audio_spans()[0][2] is None
    assert_clean(result, "seven three seven")


def test_date_of_birth_answered_by_the_other_speaker(redactor: PatternPiiRedactor) -> None:
    segments = [
        seg(0, "Thanks. And your date of birth?", 0.0, 2.0, speaker="agent"),
        seg(1, "Yes, it's the twelfth of May, nineteen eighty.", 2.5, 5.0, speaker="customer"),
    ]
    result = redactor.redact(segments)
    assert result.segments[1].text == "Yes, it's the [DOB]."
    assert_clean(result, "twelfth", "nineteen eighty")


def test_entity_times_from_word_timestamps(redactor: PatternPiiRedactor) -> None:
    words = (
        Word(0.0, 0.3, " my", 0.9),
        Word(0.3, 0.6, " card", 0.9),
        Word(0.6, 0.8, " is", 0.9),
        Word(1.0, 1.5, " 4111", 0.9),
        Word(1.5, 2.0, " 1111", 0.8),
        Word(2.0, 2.5, " 1111", 0.7),
        Word(2.5, 3.0, " 1111.", 0.9),
        Word(3.0, 3.4, " Thanks.", 0.9),
    )
    text = "".join(w.word for w in words).strip()
    result = redactor.redact([seg(3, text, 0.0, 3.4, words=words)])
    out = result.segments[0]
    assert out.text == "my card is [CARD]. Thanks."
    (entity,) = result.entities
    # the silence before the digits (0.8-1.0 s) may hold a digit the transcriber dropped
    assert (entity.type, entity.segment_id, entity.start, entity.end) == ("CARD", 3, 0.8, 3.0)
    assert out.text[entity.char_start : entity.char_end] == "[CARD]"
    assert [w.word for w in out.words] == [" my", " card", " is", " [CARD].", " Thanks."]
    merged = out.words[3]
    assert (merged.start, merged.end, merged.probability) == (1.0, 3.0, 0.7)
    assert "".join(w.word for w in out.words).strip() == out.text


def test_entity_times_interpolated_inside_one_word(redactor: PatternPiiRedactor) -> None:
    words = (
        Word(0.0, 0.5, " number", 0.9),
        Word(0.5, 2.6, " is:4111111111111111,", 0.9),
        Word(2.6, 3.0, " right?", 0.9),
    )
    text = "".join(w.word for w in words).strip()
    result = redactor.redact([seg(0, text, 0.0, 3.0, words=words)])
    (entity,) = result.entities
    assert result.segments[0].text == "number is:[CARD], right?"
    # "is:" are the first 3 of the word's 19 letters and digits (the comma takes no time)
    assert entity.start == pytest.approx(0.5 + 2.1 * 3 / 19)
    assert entity.end == pytest.approx(2.6)
    assert [w.word for w in result.segments[0].words] == [" number", " is:[CARD],", " right?"]


def test_entity_times_interpolated_without_words(redactor: PatternPiiRedactor) -> None:
    text = "card 4111 1111 1111 1111 ok"
    result = redactor.redact([seg(0, text, 10.0, 12.7, words=())])
    (entity,) = result.entities
    margin = redactor.options.interpolation_margin_s
    assert entity.start == pytest.approx(10.0 + 2.7 * 5 / len(text) - margin)
    assert entity.end == pytest.approx(10.0 + 2.7 * 24 / len(text) + margin)
    assert result.segments[0].words == ()


def test_translation_and_unaligned_words_redacted(redactor: PatternPiiRedactor) -> None:
    segments = [
        seg(0, "my card is 4111 1111", 0.0, 2.0),
        seg(
            1,
            "1111 1111 and my email is john dot smith at gmail dot com",
            2.1,
            6.0,
            translation=Translation("es", "1111 1111 y mi correo es john punto smith arroba gmail"),
        ),
        seg(
            2,
            "thanks",
            6.5,
            7.0,
            words=(Word(6.5, 7.0, " call 0207 946 0958", 0.5),),
            translation=Translation("fr", "appelez-moi au 020 7946 0958, merci"),
        ),
    ]
    result = redactor.redact(segments)
    assert result.segments[1].text == "[CARD] and my email is [EMAIL]"
    assert result.segments[1].translation == Translation(
        "es", "[CARD] y mi correo es [EMAIL] punto [EMAIL] arroba [EMAIL]"
    )
    assert result.segments[2].text == "thanks"
    assert result.segments[2].words[0].word == " call [PHONE]"
    assert result.segments[2].translation == Translation("fr", "appelez-moi au [PHONE], merci")
    assert_clean(result, "1111", "smith", "gmail", "7946")


def test_a_translation_that_garbles_a_card_loses_its_numbers(
    redactor: PatternPiiRedactor,
) -> None:
    """Whisper base read "4.111, 111, 111" (a card, a group dropped) and its translate task
    wrote "14,000,000,000": the translation keeps no digits, the card goes from both; the
    group said after a 2.5 s pause goes too."""
    segments = [
        seg(
            0,
            "El número de mi tarjeta es 4.111, 111,",
            0.0,
            4.0,
            translation=Translation("en", "The number of letters is 14,000,000,000,000."),
        ),
        seg(1, "111, gracias.", 6.5, 7.8, translation=Translation("en", "Thank you")),
    ]
    result = redactor.redact(segments)
    assert result.segments[0].text == "El número de mi tarjeta es [CARD],"
    assert result.segments[0].translation == Translation("en", "The number of letters is [CARD].")
    assert result.segments[1].text == "[CARD], gracias."
    assert {(e.type, e.segment_id) for e in result.entities} == {("CARD", 0), ("CARD", 1)}
    assert_clean(result, "111", "14,000")


def test_untouched_segments_are_returned_as_they_are(redactor: PatternPiiRedactor) -> None:
    segment = seg(0, "good morning, how can I help you today?")
    result = redactor.redact([segment])
    assert result.segments[0] is segment
    assert result == PiiRedaction((segment,), (), "pattern-v1")


def test_record_field_and_protocol(redactor: PatternPiiRedactor) -> None:
    stage: PiiRedactor = redactor
    result = stage.redact([seg(0, "the security code is 737", 0.0, 2.0)])
    (entity,) = result.to_json()["entities"]
    assert entity["type"] == "CVV" and entity["segment_id"] == 0
    assert result.to_json()["policy"] == stage.policy == "pattern-v1"
    assert redactor.settings["types"] == sorted(
        ["CARD", "CVV", "PHONE", "EMAIL", "NATIONAL_ID", "IBAN", "DOB", "ADDRESS", "REFERENCE"]
    )


def test_redact_text_for_free_text() -> None:
    assert redact_text("find calls from john.smith@gmail.com about 4111-1111-1111-1111") == (
        "find calls from [EMAIL] about [CARD]",
        ("EMAIL", "CARD"),
    )
    assert redact_text("calls about refunds in March") == ("calls about refunds in March", ())


def test_log_filter_masks_long_numbers_while_the_recognizers_load() -> None:
    """Logging never waits seconds for presidio: until it is loaded, numbers of six digits or
    more and e-mail addresses are masked roughly (ports and IP addresses stay)."""
    from pipelines.pii.log_filter import rough_redaction

    assert rough_redaction("card 4111 1111 1111 1111, mail ann@example.com") == (
        "card [NUMBER], mail [EMAIL]"
    )
    assert rough_redaction("serving on http://127.0.0.1:8000 (pid 4242)") == (
        "serving on http://127.0.0.1:8000 (pid 4242)"
    )


def test_log_filter_redacts_messages_args_and_tracebacks(redactor: PatternPiiRedactor) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PiiLogFilter(redactor))
    log = logging.getLogger("tests.pii")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        log.info("customer said %s", "my card is 4111 1111 1111 1111")
        log.info("mail john dot smith at gmail dot com, call %d", 2079460958)
        log.info("job %s done in %.1f s", "abc", 1.5)
        try:
            raise ValueError("bad address: john.smith@gmail.com")
        except ValueError:
            log.exception("failed for %s", "020 7946 0958")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "customer said my card is [CARD]" in out
    assert "mail [EMAIL], call [PHONE]" in out
    assert "job abc done in 1.5 s" in out
    assert "ValueError: bad address: [EMAIL]" in out
    assert_clean(out, "4111", "smith", "7946")


_MACHINE = re.compile(r"^(?:[0-9a-f]{16,}|\d{4}-\d\d-\d\dT[\d:.]+Z?|callqa\.[a-z./0-9]+)$")


def _strings(value: object) -> list[str]:
    """The record's strings, less ids, hashes and timestamps (random hex may hold '946')."""
    if isinstance(value, str):
        return [] if _MACHINE.match(value) else [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.mark.slow
def test_real_call_redacted_end_to_end(tmp_path: Path) -> None:
    """A labelled test call reads out a card, its code and a phone number; none survives in
    the stored record, its export form or its redacted audio (re-transcribed to check)."""

    from pipelines.core.settings import Settings
    from pipelines.record.schema import record_to_dict
    from pipelines.registry import analyze_file, build_pipeline
    from voice.decode import load_call_audio
    from voice.redact import encode_wav

    call_path = Path(__file__).resolve().parents[2] / "data" / "calls" / "payment-card.wav"
    settings = Settings()
    raw = analyze_file(
        build_pipeline(settings, diarize=False, analytics=False), call_path, settings=settings
    )
    heard = " ".join(s.text for s in raw.segments)
    assert "4111" in heard and "737" in heard, "the call really speaks the numbers"

    pipeline = build_pipeline(settings, diarize=False)
    analyzed = pipeline.analyze_call(load_call_audio(call_path))
    # every string the record stores (numbers such as word probabilities are not text)
    stored = "\n".join(_strings(record_to_dict(analyzed.record)))
    pii = analyzed.record.pii
    assert pii is not None
    assert {"CARD", "CVV", "PHONE"} <= {e["type"] for e in pii["entities"]}
    for secret in ("4111", "1111", "737", "0207", "9460958", "946"):
        assert secret not in stored, secret
    assert "[CARD]" in stored and "[CVV]" in stored

    again = tmp_path / "redacted.wav"
    again.write_bytes(encode_wav(analyzed.redacted_audio))
    assert analyzed.record.redacted_audio_sha256 == hashlib.sha256(again.read_bytes()).hexdigest()
    retranscribed = analyze_file(
        build_pipeline(settings, diarize=False, analytics=False), again, settings=settings
    )
    heard_again = " ".join(s.text for s in retranscribed.segments).lower()
    assert "card number" in heard_again  # the rest of the call is still there
    digits = re.sub(r"\D", "", heard_again)
    assert "1111" not in digits and "4111" not in digits and "737" not in digits, heard_again


def test_log_filter_keeps_uvicorn_access_lines_in_shape(redactor: PatternPiiRedactor) -> None:
    """uvicorn's access formatter unpacks five arguments: a redacted line keeps all five."""
    from uvicorn.logging import AccessFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s'))
    handler.addFilter(PiiLogFilter(redactor))
    log = logging.getLogger("tests.pii.access")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000", "GET", "/v1/calls?caller=020+7946+0958", "1.1", 200,
        )  # fmt: skip
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert '"GET /v1/calls?caller=[PHONE] HTTP/1.1" 200' in out, out
    assert_clean(out, "7946")
