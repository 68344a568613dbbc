"""The caller's number at a live call's start: read from either protocol, kept in memory only
(never in the start's repr or metadata), refused when it is not a short string."""

from __future__ import annotations

from typing import Any

import pytest

from api.live.protocols import Closing, parse_start, parse_twilio_start

SID = "CA" + "0" * 32


def twilio(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": "start",
        "start": {"callSid": SID, "streamSid": "MZ1", "customParameters": params},
    }


def test_both_protocols_carry_the_caller_but_never_show_it() -> None:
    native = parse_start({"type": "start", "caller": "+1 415 555 0142"}, "acme", "k")
    phone = parse_twilio_start(twilio({"caller": "+14155550142"}), "acme", "k")
    assert native.caller == "+1 415 555 0142" and phone.caller == "+14155550142"
    for start in (native, phone):
        assert "555" not in repr(start) and "caller" not in start.metadata
    assert parse_twilio_start(twilio({}), "acme", "k").caller is None


@pytest.mark.parametrize("caller", [5551234, "9" * 300, ["+1"]])
def test_a_caller_that_is_no_short_string_closes_the_stream(caller: object) -> None:
    with pytest.raises(Closing) as closed:
        parse_twilio_start(twilio({"caller": caller}), "acme", "k")
    assert closed.value.code == 1007
    if isinstance(caller, str):
        with pytest.raises(Closing):
            parse_start({"type": "start", "caller": caller}, "acme", "k")
