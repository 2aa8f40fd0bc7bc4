"""`/accounts` (SPEC §3.3)."""

from __future__ import annotations

from buzz.buzzchat import accounts
from buzz.buzzchat.auth import CallerDep
from buzz.buzzchat.models import Account
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import (
    AccountCreate,
    AccountList,
    AccountOut,
    AccountSwitch,
    Done,
    Ok,
    OkMessage,
)
from buzz.db import SessionDep
from buzz.web.routing import ClockDep

router = new_router("Accounts", 400, 404)


def account_out(account: Account) -> AccountOut:
    return AccountOut(id=account.id, name=account.name, is_active=account.is_active)


@router.get("/accounts", response_model=Ok[AccountList])
def list_accounts(caller: CallerDep, session: SessionDep) -> Ok[AccountList]:
    """Every account of the subscriber; exactly one is active."""
    found = accounts.list_accounts(session, subscriber_id=caller.subscriber_id)
    return Ok(data=AccountList(accounts=[account_out(a) for a in found]))


@router.post("/accounts", status_code=201, response_model=Ok[AccountOut])
def create_account(
    body: AccountCreate, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[AccountOut]:
    """A new, inactive account with the bot's default settings (at most 10)."""
    account = accounts.create_account(
        session, subscriber=caller.subscriber, name=body.name, now=now
    )
    session.commit()
    return Ok(data=account_out(account))


@router.post("/accounts/switch", response_model=OkMessage[AccountOut])
def switch_account(
    body: AccountSwitch, caller: CallerDep, session: SessionDep
) -> OkMessage[AccountOut]:
    """Make another account the active one."""
    account = accounts.switch_account(
        session, subscriber_id=caller.subscriber_id, account_id=body.account_id
    )
    session.commit()
    return OkMessage(message=f"Switched to account {account.name}", data=account_out(account))


@router.delete("/accounts/{account_id}", response_model=Done)
def delete_account(account_id: str, caller: CallerDep, session: SessionDep) -> Done:
    """Delete an account other than the active one, with everything of its bot."""
    accounts.delete_account(session, subscriber_id=caller.subscriber_id, account_id=account_id)
    session.commit()
    return Done(message="Account deleted")
