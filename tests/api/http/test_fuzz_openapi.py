"""schemathesis fuzzes every operation of the OpenAPI schema: no request may cause a 5xx.

Requests are sent with a key holding every role (to reach the handlers), without a key, and
with a wrong key; the store is a real SQLite file with one stored record to find.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from api.http.app import close_services, create_app, open_services
from api.http.deps import Services
from pipelines.core.settings import Settings

KEY = "cqa_fuzz-all-roles-key-0123456789abcdefghijkl"


def _services(tmp: Path) -> Services:
    from api.store.keys import create_key

    config = Settings(data_dir=tmp, admin_key=SecretStr(KEY), signing_key=SecretStr("hmac:fuzz"))
    services = open_services(config, workers=0)
    with services.store.session() as session:
        create_key(
            session,
            "fuzz-all",
            config.tenant,
            ["qa_analyst", "auditor", "ingest"],
            created_by="test",
            key=KEY + "-all",
        )
    return services


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    services = _services(tmp_path_factory.mktemp("fuzz"))
    yield create_app(services=services)
    close_services(services)


AUTH = st.sampled_from([f"Bearer {KEY}", f"Bearer {KEY}-all", "Bearer wrong", ""])
WAV = Path(__file__).resolve().parents[2] / "data" / "moh" / "macroform-cold_day-excerpt.wav"

# requests found from outside that once answered 500: (path, method, case parts, status)
KNOWN_CASES: list[tuple[str, str, dict[str, Any], int]] = [
    # a date-time past datetime's range once in UTC (OverflowError)
    (
        "/v1/calls",
        "GET",
        {"query": {"cursor": "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwgIngiXQ"}},
        422,
    ),
    ("/v1/export", "GET", {"query": {"from": "0001-01-01T00:00:00+14:00"}}, 422),
    ("/v1/audit", "GET", {"query": {"to": "0001-01-01T00:00:00+14:00"}}, 422),
    # metadata json.loads cannot hold: past Python's int digit limit, too deep, not finite
    *(
        (
            "/v1/calls",
            "POST",
            {"body": {"metadata": text}, "media_type": "multipart/form-data"},
            422,
        )
        for text in ('{"x": ' + "9" * 5000 + "}", "[" * 60000, '{"x": NaN}', '{"x": 1e999}')
    ),
]


def test_no_server_error(fuzz_app: FastAPI) -> None:
    """Every operation, fuzzed from the schema, answers below 500 with a JSON error body."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15

    for operation in operations:

        @given(case=operation.as_strategy(), header=AUTH)
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any, header: str) -> None:
            response = case.call(headers={"Authorization": header} if header else {})
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (where, response.status_code, response.text[:300])
            if response.status_code >= 400:
                assert "error" in response.json(), (where, response.text[:300])

        check()


def test_known_cases(fuzz_app: FastAPI) -> None:
    """The requests that once broke the API, sent through the same schema, answer 4xx JSON."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    for path, method, parts, status in KNOWN_CASES:
        if "body" in parts:
            parts = {**parts, "body": {"file": WAV.read_bytes(), **parts["body"]}}
        case = schema[path][method].Case(**parts)
        response = case.call(headers={"Authorization": f"Bearer {KEY}-all"})
        where = (method, path, str(parts)[:120])
        assert response.status_code == status, (where, response.status_code, response.text[:300])
        assert set(response.json()) == {"error"}, (where, response.text[:300])
