"""Keywords survive the ASR errors an 8 kHz line leaves: spelled or sounding a little off."""

from __future__ import annotations

import pytest

from pipelines.compliance.matching import has_keyword, sound_skeleton


@pytest.mark.parametrize(
    ("heard", "keyword"),
    [
        ("can you confirm your full name and the post go to the account", "postcode"),
        ("welcome to bright line mobile", "Brightline"),
        ("thank you for calling north wind", "Northwind"),
        ("thank you for calling for way bank", "Fairway Bank"),
    ],
)
def test_a_keyword_that_sounds_alike_is_found(heard: str, keyword: str) -> None:
    assert has_keyword(heard, [keyword], 0.85)


@pytest.mark.parametrize(
    ("heard", "keyword"),
    [
        ("can you confirm your full name please", "postcode"),
        ("thank you for calling, how can I help", "Northwind"),
        ("I can see the difference on your bill", "reference"),
        ("and you are calling family man", "Fairway Bank"),
    ],
)
def test_other_words_are_not_the_keyword(heard: str, keyword: str) -> None:
    assert not has_keyword(heard, [keyword], 0.85)


def test_the_skeleton_folds_what_a_phone_line_confuses() -> None:
    assert sound_skeleton("postcode") == sound_skeleton("post code") == "pstkt"
    assert sound_skeleton("Fairway Bank") == sound_skeleton("for way bank")
    assert sound_skeleton("reference") != sound_skeleton("difference")
