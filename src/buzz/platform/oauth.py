"""`/oauth/token`: Domo's client-credentials flow (SPEC §2.1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic
from starlette.requests import HTTPConnection

from buzz.db import WriteSessionDep
from buzz.errors import BadRequest, Unauthorized
from buzz.platform import auth
from buzz.platform.errors_schema import buzz_errors
from buzz.platform.schemas import TokenResponse
from buzz.web.routing import ClockDep

__all__ = ["router"]

router = APIRouter(tags=["OAuth"])

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="buzz"'}


class _DocumentedBasic(HTTPBasic):
    """HTTP Basic in the OpenAPI document only. FastAPI's own would refuse a malformed header
    with its own 401 before the handler, which reads the credentials itself (UTF-8, the form
    fields as a fallback) and answers in Domo's envelope."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


# For the OpenAPI document: the client's credentials (the handler reads the header itself).
_CLIENT_BASIC = _DocumentedBasic(
    scheme_name="clientBasic",
    description="The OAuth client's id and secret (`buzz admin create-client`).",
    auto_error=False,
)
_TOKEN_QUERY: list[dict[str, Any]] = [
    {
        "name": "grant_type",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "enum": ["client_credentials"]},
        "description": "Always client_credentials; a POST may send it in the form body instead.",
    },
    {
        "name": "scope",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["buzz"]},
        "description": "Domo's SDK sends scope=buzz; the one scope there is.",
    },
]
_TOKEN_FORM: dict[str, Any] = {
    "required": False,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {
                    "grant_type": {"type": "string", "enum": ["client_credentials"]},
                    "scope": {"type": "string", "enum": ["buzz"]},
                    "client_id": {"type": "string", "description": "Instead of HTTP Basic."},
                    "client_secret": {"type": "string", "description": "Instead of HTTP Basic."},
                },
            }
        }
    },
}


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses=buzz_errors(400, 401),
    openapi_extra={"parameters": _TOKEN_QUERY, "requestBody": _TOKEN_FORM},
)
def issue_token(
    request: Request,
    params: Annotated[dict[str, str], Depends(_params)],
    session: WriteSessionDep,
    now: ClockDep,
    _basic: Annotated[None, Security(_CLIENT_BASIC)] = None,
) -> JSONResponse:
    """Exchange client credentials (HTTP Basic) for a one-hour bearer token.

    `grant_type=client_credentials` goes in the query or a form body. The credentials may also
    be sent as `client_id` and `client_secret` form fields. GET is accepted as Domo accepts it.
    """
    grant_type = params.get("grant_type")
    if grant_type != "client_credentials":
        raise BadRequest.on("grant_type", "grant_type must be client_credentials")
    credentials = auth.basic_credentials(request.headers.get("authorization"))
    if credentials is None and "client_id" in params:
        credentials = (params["client_id"], params.get("client_secret", ""))
    if credentials is None:
        raise Unauthorized("Client credentials are required (HTTP Basic)", headers=_BASIC_CHALLENGE)
    client = auth.authenticate_client(session, client_id=credentials[0], secret=credentials[1])
    if client is None:
        raise Unauthorized("Invalid client credentials", headers=_BASIC_CHALLENGE)
    token = auth.issue_token(session, client=client, now=now)
    session.commit()
    body = TokenResponse(
        access_token=token,
        expires_in=int(auth.TOKEN_TTL.total_seconds()),
        user_id=client.user_id,
    )
    return JSONResponse(
        body.model_dump(by_alias=True),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# Domo's SDK and documentation fetch tokens with GET: the same handler answers it.
router.add_api_route(
    "/oauth/token",
    issue_token,
    methods=["GET"],
    response_model=TokenResponse,
    responses=buzz_errors(400, 401),
    operation_id="issueTokenWithGet",
    summary="Issue Token (GET, as Domo's SDK calls it)",
    openapi_extra={"parameters": _TOKEN_QUERY},
)
