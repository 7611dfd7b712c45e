"""The rules every value obeys before it is written: values that cannot poison the store.

A value that the store cannot hold faithfully (an integer beyond 64 bits, which SQLite would
keep as a float), that a person cannot mean (the year 1 or 9999), or that turns into an
attack further on (a second address smuggled into an e-mail field, a line break in a name
that ends up in a mail header) is refused where it enters, with one sentence naming it.

Every check raises :class:`ValueError` with that sentence; a caller adds where the value
came from (an option, a file and line, a column) and turns it into its own error.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from onderwijsflow.i18n import N_, _

__all__ = [
    "DATE_RANGE",
    "DECIMAL_DIGITS",
    "DECIMAL_PLACES",
    "INT_RANGE",
    "MAX_DURATION_DAYS",
    "MAX_DURATION_MONTHS",
    "MAX_NAME",
    "MAX_SLUG",
    "MAX_TEXT",
    "check_bounds",
    "check_date",
    "check_decimal",
    "check_duration",
    "check_email",
    "check_int",
    "check_mailbox",
    "check_name",
    "check_slug",
    "check_text",
    "has_control",
    "show",
]

#: Integers are stored as 64-bit values on both databases; a larger one could not be read back.
INT_RANGE = (-(2**63), 2**63 - 1)
#: Dates a person can mean in this domain; anything else is a typo (2204 for 2024).
DATE_RANGE = (date(1900, 1, 1), date(2200, 12, 31))
#: A decimal has at most this many digits before the point (a trillion euros has 13) ...
DECIMAL_DIGITS = 15
#: ... and at most this many after it, unless its fact declares fewer (``decimals: 2``).
DECIMAL_PLACES = 6
#: Lengths: a slug (an identifier a person types), a name or title, a free text.
MAX_SLUG = 64
MAX_NAME = 200
MAX_TEXT = 10_000
#: The longest duration anything here counts with: a century.
MAX_DURATION_MONTHS = 100 * 12
MAX_DURATION_DAYS = 36_525

#: Unicode category Cc: line breaks, tabs, NUL (which PostgreSQL refuses in text) and the like.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: What a free text may hold besides printable characters.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def show(value: Any, limit: int = 40) -> str:
    """`value` quoted for a sentence: control characters visible, long text cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def has_control(value: str) -> bool:
    """True when `value` holds a control character (a line break, a tab, NUL, ...)."""
    return _CONTROL.search(value) is not None


def check_slug(value: str, what: str = N_("slug")) -> str:
    """An identifier a person types: lower-case letters and digits joined by hyphens,
    at most :data:`MAX_SLUG` characters. `what` is a msgid, translated here."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValueError(_("{what} {value} is not valid: use lower-case letters, digits and "
                           "hyphens").format(what=_(what), value=show(value)))
    if len(value) > MAX_SLUG:
        raise ValueError(_("{what} {value} is longer than {most} characters").format(
            what=_(what), value=show(value), most=MAX_SLUG))
    return value


def check_name(value: str, what: str = N_("name")) -> str:
    """A name, title or reference: one line without control characters, not empty, at most
    :data:`MAX_NAME` characters. `what` is a msgid, translated here."""
    if not isinstance(value, str):
        raise ValueError(_("{what} must be text, not {value}").format(what=_(what), value=show(value)))
    if has_control(value):
        raise ValueError(_("{what} {value} contains a line break or another control character")
                         .format(what=_(what), value=show(value)))
    if not value.strip():
        raise ValueError(_("{what} is empty").format(what=_(what)))
    if len(value) > MAX_NAME:
        raise ValueError(_("{what} {value} is longer than {most} characters").format(
            what=_(what), value=show(value), most=MAX_NAME))
    return value


def check_text(value: str, what: str = N_("text")) -> str:
    """A free text (a reason, a note): lines and tabs allowed, other control characters not,
    at most :data:`MAX_TEXT` characters. `what` is a msgid, translated here."""
    if not isinstance(value, str):
        raise ValueError(_("{what} must be text, not {value}").format(what=_(what), value=show(value)))
    if _TEXT_CONTROL.search(value):
        raise ValueError(_("{what} {value} contains a control character").format(
            what=_(what), value=show(value)))
    if len(value) > MAX_TEXT:
        raise ValueError(_("{what} is longer than {most} characters ({count})").format(
            what=_(what), most=MAX_TEXT, count=len(value)))
    return value


def check_email(value: str) -> str:
    """Exactly one e-mail address (``naam@example.org``), checked by `email-validator`
    without asking DNS; returns its normalised form. The sentence of a refusal names the
    value; the caller says which field it was."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str):
        raise ValueError(_("{value} is not an e-mail address").format(value=show(value)))
    if has_control(value):
        raise ValueError(_("{value} contains a line break or another control character; an "
                           "e-mail address cannot").format(value=show(value)))
    if value.count("@") > 1 or any(sign in value for sign in ",;"):
        raise ValueError(_("{value} holds more than one e-mail address; give exactly one")
                         .format(value=show(value)))
    if len(value) > MAX_NAME:
        raise ValueError(_("{value} is longer than {most} characters").format(
            value=show(value), most=MAX_NAME))
    try:
        found = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(_("{value} is not an e-mail address (such as naam@example.org)")
                         .format(value=show(value))) from None
    return str(found.normalized)


def check_mailbox(value: str) -> str:
    """One address with an optional display name (``Team <team@example.org>``), as a From or
    Reply-To header holds it; the address part is checked by :func:`check_email`. Returns
    `value` as given."""
    from email.utils import getaddresses

    if not isinstance(value, str):
        raise ValueError(_("{value} is not an e-mail address").format(value=show(value)))
    if has_control(value):
        raise ValueError(_("{value} contains a line break or another control character; an "
                           "e-mail address cannot").format(value=show(value)))
    found = getaddresses([value])
    if not value.strip():
        raise ValueError(_("{value} is not an e-mail address").format(value=show(value)))
    if len(found) != 1 or value.count("@") > 1:
        raise ValueError(_("{value} holds more than one e-mail address; give exactly one")
                         .format(value=show(value)))
    address = found[0][1]
    try:
        check_email(address)
    except ValueError:
        raise ValueError(_("{value} is not an e-mail address (such as naam@example.org)")
                         .format(value=show(value))) from None
    if len(value) > MAX_NAME:
        raise ValueError(_("{value} is longer than {most} characters").format(
            value=show(value), most=MAX_NAME))
    return value


def check_int(value: int) -> int:
    """An integer the databases can hold (signed 64 bits)."""
    if not INT_RANGE[0] <= value <= INT_RANGE[1]:
        raise ValueError(_("{value} is too large; a whole number lies between {low} and {high}")
                         .format(value=show(str(value)), low=INT_RANGE[0], high=INT_RANGE[1]))
    return value


def check_decimal(value: Decimal, places: int | None = None) -> Decimal:
    """A finite amount with at most :data:`DECIMAL_DIGITS` digits before the point and at
    most `places` (default :data:`DECIMAL_PLACES`) after it."""
    if not value.is_finite():
        raise ValueError(_("expected a finite number, got {value}").format(value=show(str(value))))
    most = DECIMAL_PLACES if places is None else places
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if abs(value) >= Decimal(10) ** DECIMAL_DIGITS:
        raise ValueError(_("{value} is too large; a number has at most {digits} digits before "
                           "the decimal point").format(value=show(str(value)), digits=DECIMAL_DIGITS))
    if exponent < -most:
        try:
            exact = value == value.quantize(Decimal(1).scaleb(-most))
        except InvalidOperation:
            exact = False
        if not exact:
            raise ValueError(_("{value} has more than {places} decimals").format(
                value=show(str(value)), places=most))
        value = value.quantize(Decimal(1).scaleb(-most))
    if exponent > 0:  # 1E+3: write it out
        value = value.quantize(Decimal(1))
    return value


def check_date(day: date) -> date:
    """A date within :data:`DATE_RANGE` (the years 1900-2200)."""
    plain = day.date() if isinstance(day, datetime) else day
    if not DATE_RANGE[0] <= plain <= DATE_RANGE[1]:
        raise ValueError(_("{day} lies outside the years {first}-{last}").format(
            day=plain.isoformat(), first=DATE_RANGE[0].year, last=DATE_RANGE[1].year))
    return day


def check_bounds(value: Any, low: Any, high: Any) -> Any:
    """`value` within the `min` (`low`) and `max` (`high`) a fact declares (None: open)."""
    if low is not None and value < low:
        raise ValueError(_("{value} is less than the minimum {low}").format(
            value=show(str(value)), low=low))
    if high is not None and value > high:
        raise ValueError(_("{value} is more than the maximum {high}").format(
            value=show(str(value)), high=high))
    return value


def check_duration(parts: dict[str, int], text: str) -> None:
    """The parts of a duration (``{"years": 1, "days": 3}``) add up to at most a century:
    :data:`MAX_DURATION_MONTHS` months and :data:`MAX_DURATION_DAYS` days."""
    months = parts.get("years", 0) * 12 + parts.get("months", 0)
    days = (parts.get("weeks", 0) * 7 + parts.get("days", 0) + parts.get("hours", 0) / 24
            + parts.get("minutes", 0) / 1440 + parts.get("seconds", 0) / 86400)
    if months > MAX_DURATION_MONTHS or days > MAX_DURATION_DAYS:
        raise ValueError(_("{text} is longer than a century; a duration is at most P100Y")
                         .format(text=show(text)))
