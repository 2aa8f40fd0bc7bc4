"""Pure ASGI middleware: request ids with access logs and counts, and the body size limit."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from prometheus_client import Counter
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buzz.errors import ApiError
from buzz.web.errors import error_response
from buzz.web.logging import request_id_var

__all__ = [
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "RequestContextMiddleware",
    "RequestTimedOut",
    "RequestTimeoutMiddleware",
]

REQUESTS = Counter(
    "buzz_http_requests", "HTTP requests served, by method and status.", ["method", "status"]
)
access_log = logging.getLogger("buzz.access")
log = logging.getLogger("buzz.errors")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


class RequestContextMiddleware:
    """Gives every request an id (the caller's `X-Request-ID` when sane) and logs it once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            # Here, unlike in Starlette's outermost handler, the request id is still known.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started_response:
                raise
            error = ApiError("Internal server error", status=500, code="INTERNAL_ERROR")
            await error_response(scope["app"], scope["path"], error)(scope, receive, send_with_id)
        finally:
            REQUESTS.labels(method=scope["method"], status=str(status)).inc()
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


class BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit (FastAPI lets HTTPException through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body is larger than {limit} bytes")


class RequestTimedOut(HTTPException):
    """Raised when the body is not all in by the deadline (rendered 408, connection closed)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            408,
            f"The request body was not received within {timeout_s:g} s",
            headers={"Connection": "close"},
        )


class RequestTimeoutMiddleware:
    """A request's body must arrive within `timeout_s` of its start (SPEC §1.6): a client that
    declares a body and stalls is answered 408 and its connection closed, not held."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()  # waiting for a disconnect is not the client's delay
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimedOut(self.timeout_s) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, timed_receive, send)


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413: at once when declared, else while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            status = 413 if declared.isdigit() else 400
            message = (
                f"Request body is larger than {self.max_bytes} bytes"
                if status == 413
                else "Invalid Content-Length header"
            )
            error = ApiError(
                message, status=status, code="PAYLOAD_TOO_LARGE" if status == 413 else None
            )
            response = error_response(scope["app"], scope["path"], error)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
