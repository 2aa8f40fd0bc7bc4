"""Swagger UI at `/docs` and ReDoc at `/redoc`, with every asset served by this service.

FastAPI's own pages load their scripts from a CDN, so they are blank on an offline or
loopback-only host. The files come from the pinned `fastapi-offline` package; ReDoc's bundle is
served with the one address it would still fetch (Redocly's logo, in its sidebar footer)
replaced by a local image.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "install"]

ASSETS = "/docs-assets"
_FILES = str(files("fastapi_offline") / "static")
_OAUTH2_REDIRECT = "/docs/oauth2-redirect"
_REDOC_JS = "/docs/redoc.standalone.js"
_REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
_LOCAL_LOGO = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Cpath d='M8 1 15 8 8 15 1 8z' fill='%235b4bdb'/%3E%3C/svg%3E"
)


def _redoc_bundle() -> bytes:
    bundle = (files("fastapi_offline") / "static" / "redoc.standalone.js").read_bytes()
    return bundle.replace(_REDOCLY_LOGO.encode(), _LOCAL_LOGO.encode())


def install(app: FastAPI) -> None:
    """Serve `/docs`, `/redoc` and their assets (create the app with docs_url=None and
    redoc_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=_FILES), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{_OAUTH2_REDIRECT}",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # Swagger UI would otherwise send the document to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(_OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    redoc_bundle = _redoc_bundle()

    @app.get(_REDOC_JS, include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(
            redoc_bundle,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{_REDOC_JS}",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
