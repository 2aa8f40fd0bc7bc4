"""The portal's pages of targets and deliveries (SPEC §7), the same for both families.

Reading needs no script; every button is a form POST carrying the session's CSRF token, and
answers with a redirect (or, for a secret or a test's outcome, the page that shows it once).
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from buzz.db import DATABASE, SessionDep, WriteSessionDep
from buzz.delivery import log, outbox
from buzz.delivery.poster import POSTER
from buzz.delivery.send_once import send_once
from buzz.errors import BadRequest
from buzz.portal import catalogue
from buzz.portal.access import SESSION_LIFETIME, Refused, end_session, open_link
from buzz.portal.render import COOKIE, PREFIX, page, problem, see_other
from buzz.portal.tenants import TargetRow, Tenant, tenant_of
from buzz.portal.visit import FormVisit, VisitDep
from buzz.portal.when import typed_moment
from buzz.settings import SETTINGS
from buzz.web.log_query import LogQuery, check_window
from buzz.web.routing import ClockDep, now_of

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "x-buzzchat-signature")
Status = Literal["", "pending", "delivered", "failed"]


# ---- opening and closing -------------------------------------------------------------------------


@router.get("/open/{token}")
def open_portal(token: str, request: Request, session: WriteSessionDep, now: ClockDep) -> Response:
    """Exchange a link for a session cookie, once; a page that says why when it cannot be."""
    opened = open_link(session, token[:128], now=now)
    if isinstance(opened, Refused):
        session.rollback()
        return problem("This link cannot be used", opened.message, opened.status)
    session.commit()
    response = see_other("/")
    response.set_cookie(
        COOKIE,
        opened.cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=PREFIX,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return response


@router.post("/logout")
def logout(seen: FormVisit, session: WriteSessionDep) -> Response:
    """End the session: its cookie opens nothing any more."""
    end_session(session, seen.cookie)
    session.commit()
    response = page("logged_out.html")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# ---- targets ---------------------------------------------------------------------------------


@router.get("/")
def targets(seen: VisitDep, session: SessionDep, now: ClockDep) -> Response:
    """Each subscription or webhook: where it sends, whether it is on, how it fared in 24 h."""
    tenant = tenant_of(session, seen.viewer)
    return page("targets.html", visit=seen, tenant=tenant, targets=tenant.targets(session, now=now))


@router.post("/targets/{target}/active")
def set_active(
    target: str,
    active: Annotated[Literal["true", "false"], Form()],
    seen: FormVisit,
    session: SessionDep,
    now: ClockDep,
) -> Response:
    """Pause (no deliveries are made) or resume (what is due is sent)."""
    tenant_of(session, seen.viewer).set_active(session, target, active=active == "true", now=now)
    session.commit()
    return see_other("/")


@router.post("/targets/{target}/rotate")
def rotate(target: str, seen: FormVisit, session: SessionDep, now: ClockDep) -> Response:
    """A new signing secret, shown on this page once; the old one signs beside it for 24 h."""
    tenant = tenant_of(session, seen.viewer)
    row = tenant.target(session, target, now=now)
    secret, until = tenant.rotate(session, target, now=now)
    session.commit()
    return page("secret.html", visit=seen, tenant=tenant, target=row, secret=secret, until=until)


@router.post("/targets/{target}/test")
async def send_test(target: str, request: Request, seen: FormVisit) -> Response:
    """POST one test event to the target now and show what its receiver answered."""
    now = now_of(request)
    database = DATABASE.of(request.app)

    def look(session: Session) -> tuple[Tenant, TargetRow]:
        tenant = tenant_of(session, seen.viewer)
        return tenant, tenant.target(session, target, now=now)

    tenant, row = await database.read(look)
    prepare = tenant.test_event(
        target, settings=SETTINGS.of(request.app), now=now, timestamp=int(time.time())
    )
    result = await send_once(database, POSTER.of(request.app), prepare=prepare, now=now)
    return page("tested.html", visit=seen, tenant=tenant, target=row, result=result)


# ---- the delivery log --------------------------------------------------------------------------


@router.get("/targets/{target}/deliveries")
def deliveries(
    target: str,
    seen: VisitDep,
    session: SessionDep,
    now: ClockDep,
    status: Annotated[Status, Query()] = "",
    event_type: Annotated[str, Query(alias="eventType", max_length=64)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    tz: Annotated[str, Query(max_length=6)] = "0",
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    recovered: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The target's deliveries, newest first, with the §3.10 filters and cursor paging."""
    tenant = tenant_of(session, seen.viewer)
    row = tenant.target(session, target, now=now)
    start, end = typed_moment("since", since, tz), typed_moment("until", until, tz)
    check_window(start, end)
    query = LogQuery(
        status=status or None,
        event_type=event_type or None,
        since=start,
        until=end,
        cursor=cursor or None,
    )
    shown = log.page(session, target_id=row.target_id, limit=50, offset=0, where=query)
    filters = {"status": status, "eventType": event_type, "since": since, "until": until, "tz": tz}
    return page(
        "deliveries.html",
        visit=seen,
        tenant=tenant,
        target=row,
        shown=shown,
        filters=filters,
        paged=cursor is not None,
        recovered=recovered,
    )


@router.post("/targets/{target}/recover")
def recover(
    target: str,
    since: Annotated[str, Form(max_length=40)],
    seen: FormVisit,
    session: SessionDep,
    now: ClockDep,
    tz: Annotated[str, Form(max_length=6)] = "0",
) -> Response:
    """Queue again every failed delivery of the target created since a time."""
    row = tenant_of(session, seen.viewer).target(session, target, now=now)
    start = typed_moment("since", since, tz)
    if start is None:
        raise BadRequest.on(
            "since", "since is required: the time to recover failed deliveries from"
        )
    queued = log.recover(session, target_id=row.target_id, since=start, until=None, now=now)
    session.commit()
    return see_other(f"/targets/{row.id}/deliveries?recovered={queued}")


@router.get("/targets/{target}/deliveries/{delivery}")
def delivery(
    target: str,
    delivery: str,
    seen: VisitDep,
    session: SessionDep,
    now: ClockDep,
    redelivered: Annotated[bool, Query()] = False,
) -> Response:
    """One delivery: its payload, the headers that sign it, every attempt."""
    tenant = tenant_of(session, seen.viewer)
    row = tenant.target(session, target, now=now)
    shown = log.detail(session, target_id=row.target_id, delivery_id=delivery)
    body = log.payload(session, target_id=row.target_id, delivery_id=delivery)
    signed = outbox.one_off(
        session,
        target_id=row.target_id,
        event_id=shown.event_id,
        event_type=shown.event_type,
        payload=body,
        now=now,
        timestamp=int(time.time()),  # as a receiver checks it: against real time
    )
    headers = [(k, v) for k, v in signed.headers.items() if k.lower() in SIGNATURE_HEADERS]
    return page(
        "delivery.html",
        visit=seen,
        tenant=tenant,
        target=row,
        delivery=shown,
        payload=body,
        headers=headers,
        redelivered=redelivered,
    )


@router.post("/targets/{target}/deliveries/{delivery}/redeliver")
def redeliver(
    target: str, delivery: str, seen: FormVisit, session: SessionDep, now: ClockDep
) -> Response:
    """Queue the delivery again, now; the page shows it pending, then how it went."""
    row = tenant_of(session, seen.viewer).target(session, target, now=now)
    log.redeliver(session, target_id=row.target_id, delivery_id=delivery, now=now)
    session.commit()
    return see_other(f"/targets/{row.id}/deliveries/{delivery}?redelivered=true")


# ---- the event catalogue -------------------------------------------------------------------------


@router.get("/events")
def events(seen: VisitDep, session: SessionDep) -> Response:
    """Each event type the targets can receive, with an example and how to verify it."""
    tenant = tenant_of(session, seen.viewer)
    return page(
        "events.html", visit=seen, tenant=tenant, examples=catalogue.examples(tenant.family)
    )
