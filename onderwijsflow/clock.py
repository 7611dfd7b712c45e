"""Time at the edges: Europe/Amsterdam for people, aware UTC inside.

A date-time without an offset is read as Europe/Amsterdam local time (design §3); a
date alone, where a moment is needed, is the end of that day unless said otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import overload
from zoneinfo import ZoneInfo

from onderwijsflow.errors import UsageError
from onderwijsflow.i18n import _
from onderwijsflow.validation import check_date, show

LOCAL = ZoneInfo("Europe/Amsterdam")
END_OF_DAY = time(23, 59, 59)


class Clock:
    """Where "now" comes from: the system clock, or a simulated moment for demos and tests."""

    def __init__(self, fixed: datetime | None = None, source: Callable[[], datetime] | None = None):
        self._fixed = fixed.astimezone(UTC) if fixed else None
        self._source = source

    @property
    def simulated(self) -> bool:
        """True when this clock does not follow the wall clock."""
        return self._fixed is not None or self._source is not None

    def now(self) -> datetime:
        """The effective moment, aware and in UTC."""
        if self._fixed is not None:
            return self._fixed
        if self._source is not None:
            return self._source().astimezone(UTC)
        return datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        """Move a simulated clock to `moment` (tests and the demo)."""
        self._fixed = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move a simulated clock forward by `delta`."""
        self._fixed = self.now() + delta


def wall_clock() -> datetime:
    """The real time of recording, whatever the effective clock says."""
    return datetime.now(UTC)


def parse_moment(text: str, *, end_of_day: bool = True) -> datetime:
    """Parse a user-given date or date-time into an aware UTC datetime.

    Args:
        text: ``2024-10-15``, ``2024-10-15T16:00`` or with an explicit offset; the Dutch
            ``15-10-2024`` (and ``15-10-2024 16:00``) as well.
        end_of_day: a bare date means 23:59:59 local (True) or 00:00 local (False).

    Raises:
        UsageError: when `text` is neither a date nor a date-time, or lies outside the years
            1900-2200.
    """
    given = text.strip()
    text = normalize_date_text(given)
    try:
        if len(text) == 10:
            day = _in_range(date.fromisoformat(text))
            return local_moment(day, END_OF_DAY if end_of_day else time(0, 0))
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise UsageError(
            _("{text} is not a date (YYYY-MM-DD or DD-MM-YYYY) or date-time "
              "(YYYY-MM-DDTHH:MM)").format(text=show(given))
        ) from None
    _in_range(moment.date())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment.astimezone(UTC)


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` (or the Dutch ``DD-MM-YYYY``).

    Raises:
        UsageError: when `text` is not such a date, or lies outside the years 1900-2200.
    """
    try:
        day = date.fromisoformat(normalize_date_text(text.strip()))
    except ValueError:
        raise UsageError(
            _("{text} is not a date in the form YYYY-MM-DD or DD-MM-YYYY").format(text=show(text))
        ) from None
    return _in_range(day)


def _in_range(day: date) -> date:
    """`day`, when it lies within the years 1900-2200.

    Raises:
        UsageError: it does not.
    """
    try:
        return check_date(day)
    except ValueError as err:
        raise UsageError(str(err)) from None


_DUTCH_DATE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})(?=$|[ T])")


def normalize_date_text(text: str) -> str:
    """``15-10-2024`` (how a Dutch coordinator writes a date) as ``2024-10-15``; else `text`."""
    found = _DUTCH_DATE.match(text)
    if found is None:
        return text
    day, month, year = found.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}" + text[found.end():]


def local_moment(day: date, at: time) -> datetime:
    """The aware UTC moment of local wall time `at` on `day` in Europe/Amsterdam."""
    return datetime.combine(day, at, tzinfo=LOCAL).astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    """Show an aware moment in Europe/Amsterdam."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL)


@overload
def iso_local(moment: datetime) -> str: ...


@overload
def iso_local(moment: datetime | None) -> str | None: ...


def iso_local(moment: datetime | None) -> str | None:
    """ISO 8601 text of `moment` in local time with its offset, for people and JSON."""
    return to_local(moment).isoformat(timespec="seconds") if moment else None
