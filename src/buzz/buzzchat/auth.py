"""Who is calling (SPEC §3.1, §3.2): API key, rate limits, tier, and the account in scope.

Order of checks: a missing, unknown or revoked key is 401, or 429 once its client address has
failed `BUZZ_FAILED_AUTH_PER_MINUTE` (30) times in the last minute (a valid key is never refused
for its address's failures, so one noisy client behind a NAT locks nobody else out); the
subscriber's minute and day windows
are counted (429 when full); a tier other than business is 403. Every response after the key is
known carries the X-RateLimit headers. The address is the connection's, or the one a trusted
proxy forwarded (`BUZZ_TRUSTED_PROXIES`, applied by uvicorn).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buzz.buzzchat import accounts, keys
from buzz.buzzchat.models import Account, Subscriber, Tier
from buzz.db import DATABASE, SessionDep
from buzz.errors import Forbidden, TooManyRequests, Unauthorized
from buzz.ratelimit import RATE_LIMITER, Decision
from buzz.settings import SETTINGS
from buzz.web.routing import ClockDep

__all__ = [
    "MISSING_KEY",
    "AccountDep",
    "BriefCallerDep",
    "Caller",
    "CallerDep",
    "RateLimitHeadersMiddleware",
    "authorize_briefly",
    "current_caller",
    "presents_no_key",
]

INVALID_KEY = "The provided API key is invalid or expired"
MISSING_KEY = "Missing API key: send 'Authorization: Bearer <key>' or ?api_key=<key>"
STATE_KEY = "buzzchat_rate_headers"
NOT_BUSINESS = "API access is available to Business tier subscribers only"


@dataclass(frozen=True)
class Caller:
    """The authenticated subscriber of this request."""

    subscriber: Subscriber

    @property
    def subscriber_id(self) -> str:
        return self.subscriber.id


def presents_no_key(request: Request) -> bool:
    """True when the request carries no key at all (no Authorization, no `?api_key=`)."""
    return "authorization" not in request.headers and not request.query_params.get("api_key")


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None
        return credentials.strip()
    return request.query_params.get("api_key") or None


def _rate_headers(decision: Decision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_at),
    }


def _too_many(decision: Decision, message: str) -> TooManyRequests:
    return TooManyRequests(message, headers={"Retry-After": str(decision.retry_after)})


# For the OpenAPI document only ("Authorize" in /docs); `authorize` reads the request itself.
_BEARER = HTTPBearer(auto_error=False, scheme_name="apiKeyBearer", bearerFormat="bz_live_…")
_QUERY_KEY = APIKeyQuery(name="api_key", auto_error=False, scheme_name="apiKeyQuery")


def current_caller(
    request: Request,
    session: SessionDep,
    now: ClockDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
    _query: Annotated[str | None, Security(_QUERY_KEY)] = None,
) -> Caller:
    """The business-tier subscriber whose API key came with the request, within its limits."""
    return authorize(request, session, now)


async def current_caller_briefly(
    request: Request,
    now: ClockDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
    _query: Annotated[str | None, Security(_QUERY_KEY)] = None,
) -> Caller:
    """`current_caller` for a route that must not hold a database session while it waits."""
    return await authorize_briefly(request, now)


async def authorize_briefly(request: Request, now: datetime, *, count: bool = True) -> Caller:
    """`authorize` on a session of its own, held only while it checks."""
    return await DATABASE.of(request.app).read(
        lambda session: authorize(request, session, now, count=count)
    )


def _note_use(request: Request, session: Session, *, key_id: str, now: datetime) -> None:
    """Write the key's last use, committed whatever the route does next: in a write turn of
    its own when this request reads (at most once a minute per key, so reads stay reads)."""
    read_only = session.info.get("read_only")
    with DATABASE.of(request.app).session() if read_only else nullcontext(session) as writer:
        keys.note_use(writer, key_id=key_id, now=now)
        writer.commit()


def authorize(request: Request, session: Session, now: datetime, *, count: bool = True) -> Caller:
    """Authenticate, count and tier-check one request (see the module's docstring)."""
    limiter = RATE_LIMITER.of(request.app)
    settings = SETTINGS.of(request.app)
    address = request.client.host if request.client else "unknown"
    presented = _presented_key(request)
    found = keys.authenticate(session, presented=presented, now=now) if presented else None
    if found is None:
        failures_key = f"buzzchat:auth-failures:{address}"
        window = RateLimitItemPerMinute(settings.failed_auth_per_minute)
        failures = limiter.peek(failures_key, window)
        if not failures.allowed:
            raise _too_many(failures, "Too many failed authentications; try again later")
        limiter.record(failures_key, window)
        raise Unauthorized(INVALID_KEY)
    subscriber, due_key = found
    if due_key is not None:
        _note_use(request, session, key_id=due_key, now=now)
    if count:
        decision = limiter.check(
            f"buzzchat:subscriber:{subscriber.id}",
            RateLimitItemPerMinute(settings.rate_limit_per_minute),
            RateLimitItemPerDay(settings.rate_limit_per_day),
        )
        request.state.buzzchat_rate_headers = _rate_headers(decision)
        if not decision.allowed:
            raise _too_many(decision, "Too many requests; see Retry-After")
    if subscriber.tier != Tier.BUSINESS.value:
        raise Forbidden(NOT_BUSINESS)
    return Caller(subscriber=subscriber)


CallerDep = Annotated[Caller, Depends(current_caller)]
BriefCallerDep = Annotated[Caller, Depends(current_caller_briefly)]


def account_in_scope(
    caller: CallerDep,
    session: SessionDep,
    account: Annotated[
        str | None,
        Query(description="Account id (`acc_…`); the active account when omitted."),
    ] = None,
) -> Account:
    """The account named by `?account=`, else the subscriber's active account."""
    return accounts.resolve_account(session, subscriber_id=caller.subscriber_id, account_id=account)


AccountDep = Annotated[Account, Depends(account_in_scope)]


class RateLimitHeadersMiddleware:
    """Adds the X-RateLimit headers, counted during the request, to its response (errors too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = scope.get("state", {}).get(STATE_KEY)
                if headers:
                    target = MutableHeaders(scope=message)
                    for name, value in headers.items():
                        target[name] = value
            await send(message)

        await self.app(scope, receive, send_with_limits)


_RATE_HEADERS_DOC = {
    "X-RateLimit-Limit": "Requests allowed in the tightest of the subscriber's windows.",
    "X-RateLimit-Remaining": "Requests left in that window.",
    "X-RateLimit-Reset": "Unix time (seconds) at which that window resets.",
}


def declare_rate_limit_headers(schema: dict[str, Any]) -> None:
    """Declare, in the OpenAPI document, the headers RateLimitHeadersMiddleware sends: the
    limits on every response of an operation authenticated with an API key once the key is
    known (all but 401), and `Retry-After` on its 429."""
    headers = {
        name: {"description": text, "schema": {"type": "integer"}}
        for name, text in _RATE_HEADERS_DOC.items()
    }
    retry_after = {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            schemes = {name for need in operation.get("security", []) for name in need}
            if not schemes & {_BEARER.scheme_name, _QUERY_KEY.scheme_name}:
                continue
            for status, response in operation.get("responses", {}).items():
                if status != "401":
                    response.setdefault("headers", {}).update(headers)
                if status == "429":
                    response["headers"]["Retry-After"] = retry_after
