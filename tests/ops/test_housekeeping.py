"""Expired callback tokens and access tokens are forgotten; live ones are kept."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from buzz.app import PURGES
from buzz.clock import ManualClock
from buzz.integrations.callback import service as callback
from buzz.integrations.models import CallbackToken, Integration
from buzz.ops.housekeeping import Housekeeping
from buzz.platform.models import AccessToken, Channel, Visibility
from buzz.testing import SeededUser, issue_token


def _count(app: FastAPI, model: type[CallbackToken] | type[AccessToken]) -> int:
    with app.state.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_purge_forgets_only_expired_tokens(
    app: FastAPI, clock: ManualClock, alice: SeededUser
) -> None:
    with app.state.database.session() as session:
        channel = Channel(
            id="c1",
            parent_id="c1",
            title="General",
            visibility=Visibility.PUBLIC.value,
            creator_id=alice.id,
            created_at=clock(),
        )
        integration = Integration(
            id="i1",
            owner_id=alice.id,
            name="Bot",
            scope="PUBLIC_CHANNELS",
            headers=[],
            signing_secret="whsec_x",
            created_at=clock(),
        )
        session.add_all([channel, integration])
        session.flush()
        callback.issue_token(session, integration_id="i1", channel_id="c1", now=clock())
        session.commit()
    clock.advance(minutes=59)
    callback_fresh = _count(app, CallbackToken)
    issue_token(app, alice)  # a second access token, issued 59 minutes after the first
    assert Housekeeping(app.state.database, purges=PURGES, clock=clock).purge_expired() == 0

    clock.advance(minutes=2)  # the first access token and the callback token are past the hour

    assert Housekeeping(app.state.database, purges=PURGES, clock=clock).purge_expired() == 2
    assert (callback_fresh, _count(app, CallbackToken)) == (1, 0)
    assert _count(app, AccessToken) == 1
