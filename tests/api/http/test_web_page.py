"""The review page as files and headers: served by the app with a strict CSP, no third-party
URLs, no HTML built from strings, readable contrast, and ``/v1/me`` for the page's roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.http.routes.web import STATIC_DIR
from tests.api.routes_fixtures import Env, env, error_of

__all__ = ["env"]

SCRIPTS = sorted(STATIC_DIR.glob("*.js"))
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def test_the_page_is_served_with_a_strict_content_security_policy(env: Env) -> None:
    answer = env.client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/static/app.js">' in answer.text


@pytest.mark.parametrize("path", [*SCRIPTS, STATIC_DIR / "app.css"], ids=lambda p: p.name)
def test_every_asset_is_served_by_the_app(env: Env, path: Path) -> None:
    answer = env.client.get(f"/static/{path.name}")
    assert answer.status_code == 200
    kind = "text/css" if path.suffix == ".css" else "text/javascript"
    assert answer.headers["content-type"].startswith(kind)
    assert "content-security-policy" in answer.headers


def test_modules_import_only_files_that_exist() -> None:
    for script in SCRIPTS:
        for name in re.findall(r'from "\./([^"]+)"', script.read_text(encoding="utf-8")):
            assert (STATIC_DIR / name).is_file(), f"{script.name} imports a missing {name}"


def test_nothing_is_loaded_from_another_site() -> None:
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), path.name


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_call_data_never_becomes_markup(script: Path) -> None:
    """Text goes in as text nodes: no innerHTML, outerHTML writes, insertAdjacentHTML or eval."""
    text = script.read_text(encoding="utf-8")
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|\beval\(|new Function", text)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two #rrggbb colours."""
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_contrast() -> None:
    css = (STATIC_DIR / "app.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))
    pairs = [
        ("ink", "paper"), ("ink", "ground"), ("muted", "paper"), ("muted", "ground"),
        ("accent", "paper"), ("pass", "paper"), ("fail", "paper"), ("warn-ink", "warn-bg"),
        ("agent", "paper"), ("customer", "paper"), ("partial", "paper"), ("partial", "ground"),
        ("pass", "pass-bg"), ("fail", "fail-bg"),
    ]  # fmt: skip
    for text, background in pairs:
        ratio = contrast(colours[text], colours[background])
        assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}"
    assert contrast("#ffffff", colours["accent"]) >= 4.5  # button labels
    assert contrast("#ffffff", "#14212f") >= 4.5  # the header bar


def test_me_names_the_key_its_tenant_and_roles(env: Env) -> None:
    answer = env.client.get("/v1/me", headers=env.as_("auditor", "globex"))
    assert answer.json() == {"name": "globex-auditor", "tenant": "globex", "roles": ["auditor"]}
    assert error_of(env.client.get("/v1/me")) == (401, "unauthorized")
    wrong = env.client.get("/v1/me", headers={"Authorization": "Bearer cqa_wrong"})
    assert error_of(wrong) == (401, "unauthorized")
