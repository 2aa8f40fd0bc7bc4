"""The portal (SPEC §7): server-rendered pages where an integration's owner or a BuzzChat
subscriber sees what was sent to them, why it failed, and replays it; a seller also gets the
bot's dashboard. Opened by a one-hour link that the API hands out; no other credentials."""
