"""The request's portal session: who is looking, and the CSRF check of every form they send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from buzz.db import DATABASE
from buzz.errors import Forbidden, Unauthorized
from buzz.portal.access import Viewer, csrf_matches, csrf_token, viewer_of
from buzz.portal.render import COOKIE
from buzz.web.routing import ClockDep

__all__ = ["FormVisit", "Visit", "VisitDep"]

NO_SESSION = (
    "This browser has no portal session, or it has ended (sessions last 8 hours). Ask for a "
    "new portal link: POST /v1/buzz/integrations/{id}/portal or POST /api/v1/portal."
)
STALE_FORM = (
    "This form was not sent from a portal page of this session: reload the page, try again."
)


@dataclass(frozen=True)
class Visit:
    """A request of a live portal session."""

    viewer: Viewer
    cookie: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.cookie)


async def visit(request: Request, now: ClockDep) -> Visit:
    """The session of the request's cookie (401 page otherwise), read without holding a session."""
    cookie = request.cookies.get(COOKIE)
    viewer = await DATABASE.of(request.app).read(
        lambda session: viewer_of(session, cookie, now=now)
    )
    if viewer is None or cookie is None:
        raise Unauthorized(NO_SESSION)
    return Visit(viewer, cookie)


VisitDep = Annotated[Visit, Depends(visit)]


def _same_origin(request: Request) -> bool:
    # SameSite=Lax keeps the cookie off cross-site POSTs already; the Origin header, when the
    # browser sends one, is checked too.
    origin = request.headers.get("origin")
    if origin is None or origin == "null":  # not told: the CSRF token decides alone
        return True
    sent = urlsplit(origin)
    return (sent.scheme, sent.netloc) == (request.url.scheme, request.url.netloc)


async def form_visit(request: Request, seen: VisitDep) -> Visit:
    """`visit` for a form: its CSRF token must be the session's, its origin ours (403 page)."""
    form = await request.form()
    token = form.get("csrf")
    if not _same_origin(request) or not csrf_matches(
        seen.cookie, token if isinstance(token, str) else None
    ):
        raise Forbidden(STALE_FORM)
    return seen


FormVisit = Annotated[Visit, Depends(form_visit)]
