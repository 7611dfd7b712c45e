"""The few CLDR words the CLI writes dates and whole numbers with, kept between runs.

Babel formats dates and numbers from the CLDR data of a locale, which it loads whole the
first time: some 25 ms in a fresh process, more than `region show` itself takes. The words
used here (day and month names, the minus sign and the group separator) are asked of Babel's
own formatters once per Babel release and language and kept as JSON in the user's cache
(see :mod:`onderwijsflow.textcache`); the patterns put them together as Babel would
(``tests/test_i18n.py`` holds both to the same text). A cache that cannot be read or
written costs only Babel's time.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

__all__ = ["Words", "words"]

#: The version of what is kept (part of the cached text's key).
_FORMAT = "cldr-words-1"
#: 1 January 2001 was a Monday: its week gives the day names in Babel's order.
_MONDAY = (2001, 1, 1)


class Words(NamedTuple):
    """A locale's day and month names (as in ``EEEE``, ``MMMM`` and ``MMM``) and how it writes
    whole numbers (None for `group`: not in groups of three, so Babel writes them)."""

    days: tuple[str, ...]
    months: tuple[str, ...]
    months_short: tuple[str, ...]
    minus: str
    group: str | None

    def whole(self, value: int) -> str | None:
        """`value` as Babel's ``format_decimal`` writes it (None when this cannot)."""
        if self.group is None:
            return None
        return f"{self.minus if value < 0 else ''}{abs(value):,}".replace(",", self.group)


@cache
def words(locale: str) -> Words:
    """The words of `locale` (a CLDR name such as ``nl_NL``), from the cache or from Babel."""
    from onderwijsflow.textcache import cached_parse

    found: dict[str, Any] = cached_parse(_source(locale), lambda _text: _from_babel(locale))
    return Words(tuple(found["days"]), tuple(found["months"]), tuple(found["months_short"]),
                 found["minus"], found["group"])


def _source(locale: str) -> str:
    """What decides the words: this module's format, the locale and Babel's release."""
    import importlib.util
    from contextlib import suppress
    from pathlib import Path

    release = "unknown"
    spec = importlib.util.find_spec("babel")  # a top-level package: found, not imported
    if spec is not None and spec.origin:
        with suppress(OSError):
            release = Path(spec.origin).read_text(encoding="utf-8")
    return f"{_FORMAT} {locale}\n{release}"


def _from_babel(locale: str) -> dict[str, Any]:
    """The words, as Babel's formatters write them in `locale`."""
    from datetime import date

    from babel.dates import format_date
    from babel.numbers import format_decimal

    year, month, day = _MONDAY
    written = format_decimal(-1234567, locale=locale)
    minus, group = written[:-9], written[-4]
    grouped = written == f"{minus}1{group}234{group}567" and bool(group.strip())
    return {
        "days": [format_date(date(year, month, day + i), "EEEE", locale=locale) for i in range(7)],
        "months": [format_date(date(year, m, 1), "MMMM", locale=locale) for m in range(1, 13)],
        "months_short": [format_date(date(year, m, 1), "MMM", locale=locale) for m in range(1, 13)],
        "minus": minus,
        "group": group if grouped else None,
    }
