"""Subscribers and their accounts (SPEC §3.1, §3.3): 1..10 accounts, exactly one active."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from buzz.buzzchat.locks import lock_subscriber
from buzz.buzzchat.models import Account, BotSettings, Subscriber, Tier, new_id
from buzz.errors import BadRequest, NotFound

__all__ = [
    "DEFAULT_WELCOME",
    "MAX_ACCOUNTS",
    "create_account",
    "create_subscriber",
    "delete_account",
    "get_account",
    "list_accounts",
    "resolve_account",
    "switch_account",
]

MAX_ACCOUNTS = 10
DEFAULT_WELCOME = "Welcome to the stream, {username}!"
ACCOUNT_NOT_FOUND = "Account not found"


def create_subscriber(
    session: Session, *, name: str, tier: Tier = Tier.BUSINESS, now: datetime
) -> tuple[Subscriber, Account]:
    """A new subscriber and its first account, active."""
    subscriber = Subscriber(id=new_id("sub", 16), name=name, tier=tier.value, created_at=now)
    session.add(subscriber)
    session.flush()
    account = create_account(session, subscriber=subscriber, name=name[:50], now=now, active=True)
    return subscriber, account


def create_account(
    session: Session, *, subscriber: Subscriber, name: str, now: datetime, active: bool = False
) -> Account:
    """A new account with the bot's default settings; at most `MAX_ACCOUNTS`."""
    lock_subscriber(session, subscriber.id)
    count = session.scalar(
        select(func.count()).select_from(Account).where(Account.subscriber_id == subscriber.id)
    )
    if (count or 0) >= MAX_ACCOUNTS:
        raise BadRequest.on("name", f"A subscriber has at most {MAX_ACCOUNTS} accounts")
    account = Account(
        id=new_id("acc", 16),
        subscriber_id=subscriber.id,
        name=name,
        is_active=active,
        created_at=now,
    )
    session.add(account)
    session.add(
        BotSettings(
            account_id=account.id,
            bot_active=False,
            welcome_enabled=True,
            welcome_message=DEFAULT_WELCOME,
            welcome_delay=5000,
            timer_enabled=True,
            timer_messages=[],
            faq_enabled=True,
            faq_rules=[],
            giveaway_enabled=False,
            giveaway_keywords=["enter"],
            bot_session=0,
            giveaway_round=1,
            updated_at=now,
        )
    )
    session.flush()
    return account


def list_accounts(session: Session, *, subscriber_id: str) -> Sequence[Account]:
    """The subscriber's accounts, oldest first."""
    query = select(Account).where(Account.subscriber_id == subscriber_id).order_by(Account.seq)
    return session.scalars(query).all()


def get_account(session: Session, *, subscriber_id: str, account_id: str) -> Account:
    """One of the subscriber's accounts; 404 "Account not found" otherwise."""
    account = session.scalar(select(Account).where(Account.id == account_id))
    if account is None or account.subscriber_id != subscriber_id:
        raise NotFound(ACCOUNT_NOT_FOUND)
    return account


def resolve_account(session: Session, *, subscriber_id: str, account_id: str | None) -> Account:
    """`?account=<id>` when given, else the active account."""
    if account_id is not None:
        return get_account(session, subscriber_id=subscriber_id, account_id=account_id)
    account = session.scalar(
        select(Account).where(Account.subscriber_id == subscriber_id, Account.is_active.is_(True))
    )
    if account is None:  # cannot happen: one account is always active
        raise NotFound(ACCOUNT_NOT_FOUND)
    return account


def switch_account(session: Session, *, subscriber_id: str, account_id: str) -> Account:
    """Make `account_id` the active account (the others become inactive)."""
    lock_subscriber(session, subscriber_id)
    account = get_account(session, subscriber_id=subscriber_id, account_id=account_id)
    session.execute(
        update(Account)
        .where(Account.subscriber_id == subscriber_id, Account.id != account.id)
        .values(is_active=False)
    )
    account.is_active = True
    session.flush()
    return account


def delete_account(session: Session, *, subscriber_id: str, account_id: str) -> None:
    """Delete an inactive account with everything of its bot."""
    lock_subscriber(session, subscriber_id)
    account = get_account(session, subscriber_id=subscriber_id, account_id=account_id)
    if account.is_active:
        raise BadRequest.on(
            "accountId", "The active account cannot be deleted; switch to another first"
        )
    session.delete(account)
    session.flush()
