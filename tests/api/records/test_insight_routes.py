"""The contact center's insights through the API: a month of calls with a known monthly
spike and a known repeat caller, both found exactly; drivers, FCR and fairness; roles,
tenants and bad input; and no raw caller number anywhere in the database or the exports."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from api.http.routes import health
from api.records.alerts import active_alert_counts
from models.text_embedding import SentenceEmbedder
from tests.api.records.insight_fixtures import store_insight_call
from tests.api.routes_fixtures import Env, any_db_env, env, error_of

__all__ = ["any_db_env", "env"]  # fixtures, imported for pytest

DELIVERY = (
    "My parcel has not arrived yet.",
    "The delivery is late and the tracking page has not moved.",
    "My order still hasn't been delivered.",
    "The courier never came with my order.",
)
BILLING = (
    "I was charged twice for the same order.",
    "There is a double payment on my card statement.",
    "You took the money from my card two times.",
    "My bank shows the same charge twice this month.",
)
CALLER = "+1 415 555 0142"
RAW_FORMS = ("4155550142", "415 555 0142", "555 0142", "5550142", "(415) 555-0142")


def month_of_calls(env: Env, embedder: SentenceEmbedder) -> dict[str, str]:
    """Sep 1 to Nov 30, 2026: two delivery calls a day; on the 8th of each month twelve more
    about a double charge; one customer calling twice, two days apart, and another calling
    again after ten days (past the 7-day window)."""
    ids: dict[str, str] = {}
    day = date(2026, 9, 1)
    while day <= date(2026, 11, 30):
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        for k in range(2):
            store_insight_call(env, embedder, at=noon + timedelta(minutes=k),
                               reason=DELIVERY[(day.day + k) % 4], topic="delivery")  # fmt: skip
        if day.day == 8:
            for k in range(12):
                store_insight_call(env, embedder, at=noon + timedelta(minutes=10 + k),
                                   reason=BILLING[k % 4], topic="billing",
                                   outcome="resolved" if k % 2 else "follow_up")  # fmt: skip
        day += timedelta(days=1)
    first = datetime(2026, 11, 3, 9, tzinfo=UTC)
    ids["first"] = store_insight_call(
        env, embedder, at=first, reason="My parcel has not arrived yet.", topic="delivery",
        outcome="follow_up", caller=CALLER,
    )  # fmt: skip
    ids["repeat"] = store_insight_call(
        env, embedder, at=first + timedelta(days=2), caller="(415) 555-0142",
        reason="The delivery is late and the tracking page has not moved.", topic="delivery",
    )  # fmt: skip
    ids["late_a"] = store_insight_call(
        env, embedder, at=datetime(2026, 11, 10, 9, tzinfo=UTC), caller="+44 7700 900123",
        reason="My order still hasn't been delivered.", topic="delivery",
    )  # fmt: skip
    ids["late_b"] = store_insight_call(
        env, embedder, at=datetime(2026, 11, 20, 9, tzinfo=UTC), caller="07700 900123",
        reason="My order still hasn't been delivered.", topic="delivery",
    )  # fmt: skip
    return ids


@pytest.fixture
def month(env: Env, embedder: SentenceEmbedder) -> dict[str, str]:
    return month_of_calls(env, embedder)


@pytest.fixture
def any_db_month(any_db_env: Env, embedder: SentenceEmbedder) -> tuple[Env, dict[str, str]]:
    """The month on SQLite, then on PostgreSQL."""
    return any_db_env, month_of_calls(any_db_env, embedder)


def get(env: Env, path: str, role: str = "qa_analyst", tenant: str = "acme") -> Any:
    answer = env.client.get(path, headers=env.keys[(tenant, role)])
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_month_gives_back_its_monthly_spike_and_its_repeat_caller_exactly(
    any_db_month: tuple[Env, dict[str, str]],
) -> None:
    env, month = any_db_month
    report = get(env, "/v1/analytics/alerts?from=2026-11-01&to=2026-12-01")
    volume = [a for a in report["alerts"] if a["kind"] == "volume"]
    assert {(a["dimension"], a["day"]) for a in volume} == {
        ("driver", "2026-11-08"),
        ("topic", "2026-11-08"),
    }
    for alert in volume:
        assert alert["count"] == 12 and alert["recurring"] == "monthly"
        assert alert["seen"] == ["2026-10-08"] and alert["next_expected"] == "2026-12-08"
    topic = next(a for a in volume if a["dimension"] == "topic")
    assert topic["key"] == "billing"
    assert [a for a in report["alerts"] if a["kind"] == "rate"] == []

    repeat = get(env, f"/v1/calls/{month['repeat']}")["metrics"]["repeat_contact"]
    assert repeat == {"previous_call_id": month["first"], "days_since": 2.0, "same_driver": True}
    for name in ("first", "late_a", "late_b"):
        assert get(env, f"/v1/calls/{month[name]}")["metrics"]["repeat_contact"] is None

    with env.services.store.session() as session:  # what Prometheus gets, on Nov 9
        counts = active_alert_counts(session, now=datetime(2026, 11, 9, 8, tzinfo=UTC))
    assert counts == {("acme", "volume", "driver"): 1, ("acme", "volume", "topic"): 1}
    health._alerts_at[0] = float("-inf")
    scraped = env.client.get("/metrics").text
    assert "# TYPE callqa_alerts gauge" in scraped

    fcr = get(env, "/v1/analytics/fcr?group_by=day&from=2026-11-03&to=2026-11-04")
    first_day = fcr["groups"][0]
    assert first_day["key"] == "2026-11-03" and first_day["repeated"] == 1
    assert first_day["calls"] == 3 and first_day["fcr"] == round(2 / 3, 4)


def test_drivers_are_discovered_stable_and_trend_daily(
    env: Env, embedder: SentenceEmbedder, month: dict[str, str]
) -> None:
    report = get(env, "/v1/analytics/drivers?from=2026-11-01&to=2026-12-01")
    drivers = {d["id"]: d for d in report["drivers"]}
    assert len(drivers) == 2 and report["unplaced"] == 0
    delivery, billing = report["drivers"]
    assert delivery["calls"] == 2 * 30 + 4 and billing["calls"] == 12
    assert delivery["share"] == round(64 / 76, 4)
    assert len(billing["trend"]) == 31 and billing["trend"][7] == {"day": "2026-11-08", "calls": 12}
    assert any(t in " ".join(billing["terms"]) for t in ("charge", "card", "twice", "payment"))
    assert len(delivery["examples"]) == 3 and delivery["label"]
    assert {t["label"] for t in report["topics"]} == {"delivery", "billing"}
    # a new call joins its driver: the ids stay
    store_insight_call(env, embedder, at=datetime(2026, 11, 30, 18, tzinfo=UTC),
                       reason="I have been charged twice.", topic="billing")  # fmt: skip
    again = get(env, "/v1/analytics/drivers?from=2026-11-01&to=2026-12-01")
    assert {d["id"]: d["calls"] for d in again["drivers"]} == {
        delivery["id"]: 64,
        billing["id"]: 13,
    }


def test_fcr_by_driver_and_agent(env: Env, month: dict[str, str]) -> None:
    by_driver = get(env, "/v1/analytics/fcr?group_by=driver&from=2026-11-01&to=2026-12-01")
    groups = {g["key"]: g for g in by_driver["groups"]}
    assert len(groups) == 2 and by_driver["repeat_window_days"] == 7
    billing = min(groups.values(), key=lambda g: g["calls"])
    assert billing["calls"] == 12 and billing["resolved"] == 6 and billing["fcr"] == 0.5
    assert by_driver["overall"]["repeated"] == 1
    by_agent = get(env, "/v1/analytics/fcr?group_by=agent&from=2026-11-01&to=2026-12-01")
    assert [g["key"] for g in by_agent["groups"]] == ["agent-7"]


def test_fairness_flags_a_group_that_differs(env: Env, embedder: SentenceEmbedder) -> None:
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    for k in range(6):
        store_insight_call(env, embedder, at=at + timedelta(minutes=k), reason=DELIVERY[k % 4],
                           metadata={"accent_group": "us", "channel": "phone"})  # fmt: skip
    # the Scottish callers' words came out worse: their ASR confidence is lower
    for k in range(6):
        call_id = store_insight_call(env, embedder, at=at + timedelta(hours=1, minutes=k),
                                     reason=BILLING[k % 4],
                                     metadata={"accent_group": "scottish"})  # fmt: skip
        with env.services.store.session() as session:
            session.execute(sa.text("UPDATE calls SET asr_confidence = 0.6 WHERE id = :id"),
                            {"id": call_id})  # fmt: skip
    report = get(env, "/v1/analytics/fairness?group_by=accent_group", role="auditor")
    groups = {g["key"]: g for g in report["groups"]}
    assert set(groups) == {"us", "scottish"} and groups["us"]["calls"] == 6
    flags = {f["figure"] for f in groups["scottish"]["flags"]}
    assert flags == {"asr_confidence"}
    assert groups["scottish"]["pass_rate"] == groups["us"]["pass_rate"] == 1.0
    channel = get(env, "/v1/analytics/fairness?group_by=channel")
    assert {g["key"] for g in channel["groups"]} == {"phone", "upload"}
    language = get(env, "/v1/analytics/fairness?group_by=language&min_calls=20")
    assert language["groups"][0]["key"] == "en" and language["groups"][0]["flags"] == []


@pytest.mark.parametrize(
    "path", ["/v1/analytics/drivers", "/v1/analytics/alerts", "/v1/analytics/fcr"]
)
def test_roles_and_tenants(env: Env, embedder: SentenceEmbedder, path: str) -> None:
    store_insight_call(env, embedder, at=datetime.now(UTC), reason=DELIVERY[0], tenant="globex")
    for role in ("auditor", "ingest", "admin"):
        assert error_of(env.client.get(path, headers=env.keys[("acme", role)]))[0] == 403
    assert error_of(env.client.get(path))[0] == 401
    mine = get(env, path)  # acme sees none of globex's calls
    assert json.dumps(mine).count(DELIVERY[0]) == 0
    assert get(env, path, tenant="globex")
    assert (
        error_of(env.client.get("/v1/analytics/fairness", headers=env.keys[("acme", "ingest")]))[0]
        == 403
    )


@pytest.mark.parametrize(
    "query",
    [
        "/v1/analytics/fcr?group_by=caller",
        "/v1/analytics/fairness?group_by=race",
        "/v1/analytics/fairness?margin=2",
        "/v1/analytics/drivers?from=2026-12-01&to=2026-11-01",
        "/v1/analytics/alerts?from=yesterday",
        "/v1/analytics/alerts?from=0001-01-01",
        "/v1/analytics/alerts?to=0001-01-02",
        "/v1/analytics/alerts?from=2020-01-01&to=2026-01-01",
    ],
)
def test_bad_queries_are_422_with_a_json_body(env: Env, query: str) -> None:
    assert error_of(env.client.get(query, headers=env.keys[("acme", "qa_analyst")]))[0] == 422


def test_windows_at_the_ends_of_time_answer(env: Env) -> None:
    """Far dates are no server error: drivers and FCR answer, a year of trend at most."""
    drivers = get(env, "/v1/analytics/drivers?from=0001-01-01&to=9999-12-30")
    assert drivers["drivers"] == [] and drivers["calls"] == 0
    assert get(env, "/v1/analytics/fcr?from=0001-01-01&to=0001-01-03")["overall"]["calls"] == 0
    assert get(env, "/v1/analytics/fairness?from=0001-01-01")["groups"] == []


def test_no_raw_caller_number_is_stored_or_exported(env: Env, month: dict[str, str]) -> None:
    upload = env.client.post(
        "/v1/calls",
        headers=env.keys[("acme", "ingest")],
        files={"file": ("call.wav", _wav(), "audio/wav")},
        data={"metadata": json.dumps({"caller": CALLER, "agent": "agent-9"})},
    )
    assert upload.status_code == 202, upload.text
    bad = env.client.post(
        "/v1/calls",
        headers=env.keys[("acme", "ingest")],
        files={"file": ("call.wav", _wav(), "audio/wav")},
        data={"metadata": json.dumps({"caller": True})},
    )
    assert error_of(bad) == (422, "invalid")
    with env.services.store.session() as session:
        keys = session.execute(sa.text("SELECT kind, key FROM contact_keys")).all()
        assert {kind for kind, _ in keys} == {"caller"} and len(keys) == 5
        dump = _database_text(session)
    assert month["first"] in dump  # the dump does hold the calls
    for form in RAW_FORMS:
        assert form not in dump
    for fmt in ("jsonl", "csv"):
        exported = env.client.get(f"/v1/export?format={fmt}", headers=env.keys[("acme", "auditor")])
        assert exported.status_code == 200
        text = _bundle_text(exported.content)
        assert month["repeat"] in text
        for form in RAW_FORMS:
            assert form not in text


def test_erasing_a_call_removes_its_pseudonym_links(env: Env, month: dict[str, str]) -> None:
    answer = env.client.request(
        "DELETE", f"/v1/calls/{month['first']}", headers=env.keys[("acme", "admin")],
        json={"reason": "GDPR Art. 17 request"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    with env.services.store.session() as session:
        left = session.execute(
            sa.text("SELECT count(*) FROM contact_keys WHERE call_id = :id"), {"id": month["first"]}
        ).scalar()
    assert left == 0
    fcr = get(env, "/v1/analytics/fcr?group_by=day&from=2026-11-03&to=2026-11-06")
    assert fcr["overall"]["repeated"] == 0  # the erased call is gone, and with it its repeat


def _wav() -> bytes:
    import numpy as np
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(8000, dtype=np.int16), 8000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _database_text(session: Any) -> str:
    parts = []
    for table in sa.inspect(session.get_bind()).get_table_names():
        for row in session.execute(sa.text(f"SELECT * FROM {table}")):
            parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)


def _bundle_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        return "\n".join(bundle.read(n).decode("utf-8", "replace") for n in bundle.namelist())
