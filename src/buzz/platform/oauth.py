"""`/oauth/token`: Domo's client-credentials flow (SPEC §2.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from buzz.db import WriteSessionDep
from buzz.errors import BadRequest, Unauthorized
from buzz.platform import auth
from buzz.platform.errors_schema import buzz_errors
from buzz.platform.schemas import TokenResponse
from buzz.web.routing import ClockDep

__all__ = ["router"]

router = APIRouter(tags=["OAuth"])

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="buzz"'}


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


@router.post("/oauth/token", response_model=TokenResponse, responses=buzz_errors(400, 401))
def issue_token(
    request: Request,
    params: Annotated[dict[str, str], Depends(_params)],
    session: WriteSessionDep,
    now: ClockDep,
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


# Domo's own documentation fetches tokens with GET; the same handler answers it, undocumented.
router.add_api_route("/oauth/token", issue_token, methods=["GET"], include_in_schema=False)
