"""One language wherever a person reads: gettext catalogs for text, Babel's CLDR data for dates,
numbers and money.

Source strings are English; Dutch is the default language and lives in
``onderwijsflow/locale/nl/LC_MESSAGES/onderwijsflow.po`` (compiled to ``.mo``; maintained with
``python -m onderwijsflow.i18n.catalog``). The language is chosen per process, in this order:
``set_language`` (the CLI's ``--lang``), ``ONDERWIJSFLOW_LANG``, the configuration's
``language:``, then Dutch. JSON keys and codes never pass through here; only what a person reads.

Messages are formatted *after* translation, with named fields, so a translator can reorder
them::

    _("Region {slug} created").format(slug=slug)
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from onderwijsflow.i18n import cldr

LANGUAGES: tuple[str, ...] = ("nl", "en")
DEFAULT = "nl"
ENV = "ONDERWIJSFLOW_LANG"
DOMAIN = "onderwijsflow"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

#: CLDR locales for formatting: Dutch as written in the Netherlands, English as in Britain
#: (day-month order, 24-hour clock: what an English-speaking colleague in The Hague expects).
_CLDR = {"nl": "nl_NL", "en": "en_GB"}

_chosen: str | None = None


class LanguageError(ValueError):
    """A language that is not one of :data:`LANGUAGES`."""


def normalize(language: str) -> str:
    """``"NL"``, ``"nl_NL.UTF-8"``, ``"en-GB"`` → ``"nl"``/``"en"``; anything else is an error."""
    code = language.strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    if code not in LANGUAGES:
        raise LanguageError(
            f"unknown language '{language}'; known: {', '.join(LANGUAGES)}")
    return code


def set_language(language: str | None) -> str:
    """Choose the language for this process (None: back to the environment's choice)."""
    global _chosen
    _chosen = None if language is None else normalize(language)
    return current()


def explicit() -> bool:
    """Whether a language was chosen by ``set_language`` or the environment (not defaulted)."""
    return _chosen is not None or bool(os.environ.get(ENV))


def current() -> str:
    """The language in effect (asked for every message: kept cheap)."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get(ENV)
    return _from_environment(env) if env else DEFAULT


@cache
def _from_environment(value: str) -> str:
    """The language an ``ONDERWIJSFLOW_LANG`` value names (the default for a bad one)."""
    try:
        return normalize(value)
    except LanguageError:
        return DEFAULT


@contextmanager
def using(language: str) -> Iterator[None]:
    """Speak `language` inside the block (a mail to a reader, a test), then go back."""
    global _chosen
    before = _chosen
    set_language(language)
    try:
        yield
    finally:
        _chosen = before


@cache
def _translations(language: str) -> _gettext.NullTranslations:
    if language == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def gettext(message: str) -> str:
    """`message` in the current language."""
    return _translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message, for `n`, in the current language."""
    return _translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in the current language, disambiguated by `context` (a word with two senses)."""
    return _translations(current()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark `message` for translation without translating it now (translated where it is shown)."""
    return message


_ = gettext


def locale() -> str:
    """The CLDR locale of the current language."""
    return _CLDR[current()]


def format_date(day: date) -> str:
    """A day as a person writes it: "dinsdag 15 oktober 2024" / "Tuesday 15 October 2024"
    (CLDR's ``EEEE d MMMM y``)."""
    words = cldr.words(locale())
    return f"{words.days[day.weekday()]} {day.day} {words.months[day.month - 1]} {day.year}"


def format_sentence_day(day: date) -> str:
    """A day inside a sentence: "4 juni 2025" / "4 June 2025" (CLDR's ``d MMMM y``)."""
    return f"{day.day} {cldr.words(locale()).months[day.month - 1]} {day.year}"


def format_day(day: date) -> str:
    """A day in a table cell: "15 okt 2024" / "15 Oct 2024" (CLDR's ``d MMM y``)."""
    return f"{day.day} {cldr.words(locale()).months_short[day.month - 1]} {day.year}"


def format_datetime(moment: datetime) -> str:
    """A moment in Dutch local time: "dinsdag 15 oktober 2024, 16:00" (``EEEE d MMMM y, HH:mm``)."""
    from onderwijsflow.clock import to_local

    local = to_local(moment) if moment.tzinfo is not None else moment
    return f"{format_date(local.date())}, {local.hour:02d}:{local.minute:02d}"


def format_number(value: int | float | Decimal) -> str:
    """A number with the language's separators: 1.275.000,5 / 1,275,000.5; a decimal keeps the
    digits it was given (1275000.50 -> 1.275.000,50)."""
    if (whole := format_whole(value)) is not None:
        return whole
    from babel.numbers import format_decimal

    if isinstance(value, Decimal) and value.is_finite() and int(value.as_tuple().exponent) < 0:
        places = -int(value.as_tuple().exponent)
        return format_decimal(value, format="#,##0." + "0" * places, locale=locale(),
                              decimal_quantization=False)
    return format_decimal(value, locale=locale())


def format_whole(value: int | float | Decimal) -> str | None:
    """A whole number (an ``int``, or a ``Decimal`` written without decimals) as Babel writes
    it, from the CLDR words kept between runs (:mod:`onderwijsflow.i18n.cldr`); None for any
    other number, which Babel writes."""
    if type(value) is not int:
        if not isinstance(value, Decimal) or not value.is_finite():
            return None
        if value.as_tuple().exponent != 0 or (value.is_zero() and value.is_signed()):
            return None  # decimals to keep, or Babel's "-0"
    return cldr.words(locale()).whole(int(value))


def format_money(amount: int | float | Decimal) -> str:
    """Euros: "€ 1.275.000" (whole euros without cents), "€ 1.275.000,50" otherwise."""
    from babel import Locale
    from babel.numbers import format_currency

    pattern = Locale.parse(locale()).currency_formats["standard"].pattern
    if Decimal(str(amount)) == Decimal(str(amount)).to_integral_value():
        pattern = pattern.replace("0.00", "0")
    return format_currency(amount, "EUR", format=pattern, locale=locale(),
                           currency_digits=False).replace("\xa0", " ")


def format_value(value: Any, type: str | None = None, *, sentence: bool = False) -> str:
    """A fact's value as a person reads it: "niet gezet" for none, "ja"/"nee"; in Dutch numbers
    and dates written the Dutch way (29.000, 1.275.000,50, 15 okt 2024, or "dinsdag 15 oktober
    2024" in a `sentence`), in English as stored (29000, 2024-10-15); text as it is.

    Args:
        type: the fact's declared type, when known (a decimal or a date is stored as text).
    """
    from decimal import InvalidOperation

    if value is None:
        return _("not set")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if current() == "en":
        return str(value)
    try:
        if isinstance(value, int | float | Decimal):
            return format_number(value)
        if isinstance(value, str) and type == "decimal":
            return format_number(Decimal(value))
        if isinstance(value, str) and type == "date":
            day = date.fromisoformat(value)
            return format_date(day) if sentence else format_day(day)
    except (InvalidOperation, ValueError):
        pass
    return str(value)


def label_for(labels: dict[str, str], code: str) -> str:
    """The translated label of `code` from a table of ``N_``-marked labels; a code the table
    does not know reads as itself, underscores as spaces."""
    text = labels.get(code)
    return gettext(text) if text else code.replace("_", " ")


def join_or(items: list[str]) -> str:
    """"a, b or c" / "a, b of c"."""
    return _join(items, _("or"))


def join_and(items: list[str]) -> str:
    """"a, b and c" / "a, b en c"."""
    return _join(items, _("and"))


def _join(items: list[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"
