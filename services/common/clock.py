"""Việt Nam's calendar for the whole system: the date "today" means, and the local time people read.

Servers run in UTC (containers do unless told otherwise) while the province works in UTC+7, without daylight
saving. Every stored moment is UTC (`db.Instant`); a date a rule judges by (today, "not in the future", the
year a page opens on) and a time shown to a person are Việt Nam's. Between 00:00 and 07:00 in Việt Nam the
server's own `date.today()` is still yesterday, so the linter refuses it (ruff DTZ011) in favour of `today()`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7))  # documents are dated in Vietnamese local time


def today() -> date:
    """Today's date in Việt Nam, whatever the server's time zone."""
    return datetime.now(VIETNAM).date()


def in_vietnam(at: datetime) -> datetime:
    """A moment as Việt Nam's wall clock reads it. A naive moment is a stored one, hence UTC."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(VIETNAM)
