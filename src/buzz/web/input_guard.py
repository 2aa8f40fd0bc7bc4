"""One rule for input the database cannot store (SPEC §1.6): refused with a 400, before any route.

Every API route, of both families, gets the same check of its path, query and JSON body:

- an integer outside a signed 64-bit column (`?offset=9223372036854775808`, `"userIds": [2**63]`,
  `/members/99999999999999999999`);
- a string with U+0000 (PostgreSQL text cannot hold it);
- a string that is not valid Unicode (an unpaired surrogate such as `"\\ud800"`: it has no UTF-8);
- a non-finite number (`NaN`, `Infinity`: not JSON, though Python's parser takes them).

Checking here, once, instead of in each schema or column keeps the rule whole: a new route or field
is covered without anyone remembering to. A body that is not JSON passes untouched (the route
then says it is malformed, or takes it as it is).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buzz.errors import ApiError, BadRequest
from buzz.web.errors import error_response
from buzz.web.middleware import BodyTooLarge, RequestTimedOut

__all__ = ["INT64_MAX", "INT64_MIN", "StorableInputMiddleware", "unstorable"]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character (U+0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds an unpaired surrogate)"
    return None


def _integer_problem(value: int) -> str | None:
    if not INT64_MIN <= value <= INT64_MAX:
        return "is out of range: integers are between -2^63 and 2^63-1"
    return None


def _looks_integral(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isascii() and digits.isdigit()


def _text_problem(text: str) -> str | None:
    """For path segments and query values: the string rules, and digits as an integer."""
    problem = _string_problem(text)
    if problem is None and _looks_integral(text) and len(text) > 18:
        problem = _integer_problem(int(text))
    return problem


def _walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        if (problem := _string_problem(value)) is not None:
            yield where, problem
    elif isinstance(value, int):
        if (problem := _integer_problem(value)) is not None:
            yield where, problem
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield where, "is not a finite number"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if (problem := _string_problem(key)) is not None:
                yield where or "body", f"has a field name that {problem}"
            yield from _walk(item, f"{where}.{key}" if where else key)


def unstorable(scope: Scope, body: bytes | None) -> BadRequest | None:
    """The 400 for the first value of this request the database cannot store, if any."""
    found: list[tuple[str, str]] = []
    for segment in scope["path"].split("/"):
        if (problem := _text_problem(segment)) is not None:
            found.append(("path", f"{segment[:40]!r} {problem}"))
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        if (problem := _text_problem(name)) is not None:
            found.append(("query", f"a parameter name {problem}"))
        if (problem := _text_problem(value)) is not None:
            found.append((name, problem))
    if body:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        found.extend(_walk(document, ""))
    if not found:
        return None
    field, problem = found[0]
    field = field or "body"
    return BadRequest.on(field, f"{field} {problem}")


def _is_json(headers: Headers) -> bool:
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class StorableInputMiddleware:
    """Refuses requests that carry what `unstorable` finds, in the family's error envelope.

    A JSON body is read whole (it is already capped by `BodyLimitMiddleware`, outside this one)
    and handed on unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: bytes | None = None
        headers = Headers(scope=scope)
        if scope["method"] in _BODY_METHODS and _is_json(headers):
            try:
                body, receive = await _buffered(receive)
            except (BodyTooLarge, RequestTimedOut) as exc:
                error = ApiError(
                    str(exc.detail),
                    status=exc.status_code,
                    code="PAYLOAD_TOO_LARGE" if exc.status_code == 413 else "REQUEST_TIMEOUT",
                    headers=dict(exc.headers or {}),
                )
                await error_response(scope["app"], scope["path"], error)(scope, receive, send)
                return
        refused = unstorable(scope, body)
        if refused is not None:
            await error_response(scope["app"], scope["path"], refused)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that hands it on as one message, then defers."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"", receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
