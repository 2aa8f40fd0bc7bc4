"""`/settings` (SPEC §3.4)."""

from __future__ import annotations

from buzz.buzzchat import bot_settings
from buzz.buzzchat.auth import AccountDep
from buzz.buzzchat.bot_settings import SettingsOut, SettingsPatch
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Ok, OkMessage
from buzz.db import SessionDep
from buzz.web.routing import ClockDep

router = new_router("Settings", 400, 404)


@router.get("/settings", response_model=Ok[SettingsOut])
def get_settings(account: AccountDep, session: SessionDep) -> Ok[SettingsOut]:
    """The bot's settings for the account."""
    return Ok(data=bot_settings.read_settings(bot_settings.settings_of(session, account)))


@router.patch("/settings", response_model=OkMessage[SettingsOut])
def update_settings(
    patch: SettingsPatch, account: AccountDep, session: SessionDep, now: ClockDep
) -> OkMessage[SettingsOut]:
    """Change any subset of the settings; lists replace the whole list."""
    updated = bot_settings.update_settings(session, account=account, patch=patch, now=now)
    session.commit()
    return OkMessage(message="Settings updated", data=updated)
