"""Times typed into the portal's forms: a browser's `datetime-local` value and the zone it was
typed in (`tz`, minutes behind UTC as JavaScript's getTimezoneOffset gives; 0 without script)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from buzz.errors import BadRequest

__all__ = ["typed_moment"]

_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def typed_moment(field: str, value: str | None, tz: str | None) -> datetime | None:
    """The UTC moment of a form's time field; None when left empty; a 400 naming the field."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        aware = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest.on(
            field, f"{field} must be a date and time, e.g. 2026-12-01T09:30"
        ) from None
    if aware.tzinfo is not None:
        return aware.astimezone(UTC)
    if text[:16] != aware.strftime("%Y-%m-%dT%H:%M"):
        raise BadRequest.on(field, f"{field} must be a date and time, e.g. 2026-12-01T09:30")
    try:
        offset = int(tz or "0")
    except ValueError:
        raise BadRequest.on("tz", "tz must be minutes behind UTC, e.g. -60") from None
    if not -24 * 60 < offset < 24 * 60:
        raise BadRequest.on("tz", "tz must be minutes behind UTC, between -1439 and 1439")
    try:
        return (aware + timedelta(minutes=offset)).replace(tzinfo=UTC)
    except OverflowError:
        raise BadRequest.on(field, f"{field} is out of range") from None
