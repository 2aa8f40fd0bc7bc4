"""Mount the portal on the app: the link routes of both families, the pages, their files."""

from __future__ import annotations

from fastapi import FastAPI

from buzz.portal import dashboard, links, pages
from buzz.portal.render import install_static_and_errors

__all__ = ["install"]


def install(app: FastAPI) -> None:
    links.include(app)
    app.include_router(pages.router)
    app.include_router(dashboard.router)
    install_static_and_errors(app)
