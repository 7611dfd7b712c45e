"""ISO 8601 durations (``P30D``, ``P6W``, ``P6M``, ``PT16H``) with calendar arithmetic.

Months and years are calendar units (15 April + P6M = 15 October), which is what a
"peilgesprek every six months" means; a plain `timedelta` cannot express that.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from onderwijsflow.i18n import _
from onderwijsflow.validation import check_duration, show

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@dataclass(frozen=True, order=True)
class Duration:
    """A calendar-aware duration: whole months plus a fixed timedelta."""

    months: int = 0
    delta: timedelta = timedelta(0)
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse an ISO 8601 duration such as ``P14D`` or ``P1Y6M``.

        Raises:
            ValueError: when `text` is not an ISO 8601 duration, or is longer than a century.
        """
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(_("{text} is not an ISO 8601 duration such as P14D, P6W or P6M")
                             .format(text=show(text)))
        # A number of more than 12 digits is far beyond a century (and slow to read).
        parts = {k: int(v) if len(v) <= 12 else 10**12 for k, v in match.groupdict().items() if v}
        check_duration(parts, text.strip())
        months = parts.get("years", 0) * 12 + parts.get("months", 0)
        delta = timedelta(
            weeks=parts.get("weeks", 0),
            days=parts.get("days", 0),
            hours=parts.get("hours", 0),
            minutes=parts.get("minutes", 0),
            seconds=parts.get("seconds", 0),
        )
        if months == 0 and delta == timedelta(0):
            raise ValueError(_("'{text}' is a zero duration").format(text=text))
        return cls(months=months, delta=delta, text=text.strip())

    def add_to(self, moment: datetime | date, sign: int = 1) -> datetime | date:
        """Return `moment` moved by this duration (backwards when `sign` is -1)."""
        shifted = _add_months(moment, sign * self.months) if self.months else moment
        return shifted + sign * self.delta

    def before(self, moment: datetime | date) -> datetime | date:
        """Return the moment this duration before `moment`."""
        return self.add_to(moment, -1)

    def __str__(self) -> str:
        return self.text


def _add_months(moment: datetime | date, months: int) -> datetime | date:
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
