"""The portal's HTML: Jinja2 templates (autoescaped), the headers every page carries, and the
error page that every failure under `/portal` becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from buzz.errors import ApiError
from buzz.web.errors import ErrorFamily, register_family

__all__ = ["COOKIE", "PREFIX", "install_static_and_errors", "page", "problem", "see_other"]

HERE = Path(__file__).parent
PREFIX = "/portal"
COOKIE = "buzz_portal"

# Everything the pages load comes from this origin; nothing is inlined, nothing framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    # A link's token never leaves in a Referer to another site; within the portal the browser
    # still names its origin on form POSTs (under no-referrer, Chromium sends `Origin: null`).
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _moment(value: datetime | str | None) -> Markup:
    """A time in UTC, marked up for portal.js to show in the viewer's zone (UTC on hover)."""
    if value is None:
        return Markup("—")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    utc = value.astimezone(UTC)
    shown = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc.isoformat().replace("+00:00", "Z"), shown, shown
    )


def _pretty(payload: bytes | str) -> str:
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload


TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["moment"] = _moment
TEMPLATES.filters["pretty"] = _pretty


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered page with the portal's headers."""
    html = TEMPLATES.get_template(template).render(prefix=PREFIX, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def see_other(path: str) -> RedirectResponse:
    """After a form: 303 to the portal page at `path`, with the portal's headers."""
    return RedirectResponse(f"{PREFIX}{path}", status_code=303, headers=SECURITY_HEADERS)


def problem(title: str, message: str, status: int, *, signed_in: bool = False) -> HTMLResponse:
    """A page that says what went wrong, in a sentence, and what to do."""
    return page("problem.html", status, title=title, message=message, signed_in=signed_in)


_TITLES = {
    400: "That did not work",
    401: "Please open a new portal link",
    403: "Not allowed",
    404: "Not found",
    409: "Not now",
    410: "This link cannot be used",
    413: "Too large",
    429: "Slow down",
}


def _respond(_request: Request | None, _path: str, error: ApiError) -> Response:
    message = error.message
    if error.errors:
        message = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    title = _TITLES.get(error.status, "Something went wrong")
    return problem(title, message, error.status, signed_in=error.status not in (401, 410))


def install_static_and_errors(app: FastAPI) -> None:
    """Serve the portal's files (CSS, its script, the chart library) and render its errors as
    pages."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="portal-static")
    register_family(
        app,
        ErrorFamily(
            name="portal",
            matches=lambda path: path == PREFIX or path.startswith(f"{PREFIX}/"),
            render=lambda _request, _path, error: {"message": error.message},
            media_type="text/html",
            respond=_respond,
        ),
    )
