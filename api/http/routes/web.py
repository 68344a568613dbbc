"""The review page at ``/`` and who the caller is (``GET /v1/me``).

The page is static HTML, CSS and JavaScript modules shipped in ``api/http/web/static`` and
served by the app itself (no CDN). It signs in with an API key kept in the tab's session
storage and calls the same JSON API as any other client, so every role and tenant check
is the API's; a strict Content-Security-Policy allows only the app's own scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from api.http.deps import PrincipalDep

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["web"])


@router.get("/", response_class=FileResponse, include_in_schema=False)
def review_page() -> FileResponse:
    """The review page (a single HTML document; views are chosen by the URL fragment)."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)


@router.get("/v1/me", tags=["keys"])
def who_am_i(principal: PrincipalDep) -> dict[str, Any]:
    """The calling key's name, tenant and roles (the page shows only what they allow)."""
    return {"name": principal.name, "tenant": principal.tenant, "roles": sorted(principal.roles)}


class PageFiles(StaticFiles):
    """The page's static files, with the page's security headers on every answer."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(PAGE_HEADERS)
        return response


def page_files() -> PageFiles:
    return PageFiles(directory=STATIC_DIR)
