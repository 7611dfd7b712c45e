"""Typed values as the store keeps them, without pydantic: shared by the workflow language
(:mod:`onderwijsflow.definition.model`, which re-exports these names) and the lean read path.

Moved here from ``definition/model.py`` so that reading a fact's value does not import pydantic.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from onderwijsflow import validation
from onderwijsflow.i18n import N_, _

ValueType = Literal["string", "int", "decimal", "bool", "date"]

#: Other names for types, accepted wherever a type is named (facts, params, record fields).
TYPE_ALIASES = {"integer": "int", "number": "decimal", "boolean": "bool"}

__all__ = ["TYPE_ALIASES", "ValueType", "coerce_value", "dump_value", "stored_value"]


def coerce_value(kind: ValueType, raw: Any, *, places: int | None = None) -> Any:
    """Turn `raw` (YAML or command-line text) into a value of `kind`, within the bounds of
    :mod:`onderwijsflow.validation` (a decimal with at most `places` decimals, when given).

    Raises:
        ValueError: with a sentence saying what was expected.
    """
    if kind == "string":
        if isinstance(raw, str | int | Decimal) and not isinstance(raw, bool):
            return validation.check_text(str(raw), N_("text"))
        raise ValueError(_("expected text, got {value}").format(value=validation.show(raw)))
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"true", "ja", "yes", "1"}:
            return True
        if text in {"false", "nee", "no", "0"}:
            return False
        raise ValueError(_("expected true or false (ja/nee), got {value}").format(value=repr(raw)))
    if kind == "int":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise _not_whole(raw)
        text = str(int(raw)) if isinstance(raw, float) else str(raw).strip().replace("_", "")
        if len(text) > 25:  # far beyond 64 bits; and int() of thousands of digits is slow
            raise ValueError(_("{value} is too large; a whole number lies between {low} and {high}")
                             .format(value=validation.show(raw), low=validation.INT_RANGE[0],
                             high=validation.INT_RANGE[1]))
        try:
            number = int(text)
        except ValueError:
            raise _not_whole(raw) from None
        return validation.check_int(number)
    if kind == "decimal":
        if isinstance(raw, bool):
            raise ValueError(_("expected a number, got {value}").format(value=validation.show(raw)))
        text = str(raw).strip().replace(",", ".")
        try:
            value = Decimal(text) if len(text) <= 60 else Decimal("NaN")
        except ArithmeticError:
            raise ValueError(_("expected a number such as 100000.00, got {value}")
                             .format(value=validation.show(raw))) from None
        if not value.is_finite():
            raise ValueError(_("expected a finite number, got {value}").format(
                value=validation.show(raw)))
        return validation.check_decimal(value, places)
    if kind == "date":
        if isinstance(raw, date):
            day = raw
        else:
            from onderwijsflow.clock import normalize_date_text

            try:
                day = date.fromisoformat(normalize_date_text(str(raw).strip()))
            except ValueError:
                raise ValueError(_("expected a date YYYY-MM-DD or DD-MM-YYYY, got {value}")
                                 .format(value=validation.show(raw))) from None
        return validation.check_date(day)
    raise ValueError(_("unknown value type {kind}").format(kind=repr(kind)))


def _not_whole(raw: Any) -> ValueError:
    """The error for a value that is not a whole number (translated only when raised: reading
    every region's facts otherwise looks the sentence up once per value)."""
    return ValueError(_("expected a whole number, got {value}").format(value=validation.show(raw)))


def stored_value(kind: str, raw: Any) -> Any:
    """A value as the store holds it, typed where it can be, else as it is: never raises.

    A store may hold what today's rules refuse (an integer beyond 64 bits that SQLite kept as
    a float, written before the rule or behind the tool's back); it must still be shown,
    reported and repaired (``fact set``, ``fact unset``), so reading never refuses it.
    """
    if raw is None:
        return None
    if type(raw) is int and kind == "int" and validation.INT_RANGE[0] <= raw <= validation.INT_RANGE[1]:
        return raw  # what coerce_value gives, without its text round trip (the report reads 10^5)
    if type(raw) is bool and kind == "bool":
        return raw
    try:
        return coerce_value(kind, raw)  # type: ignore[arg-type]  # an unknown kind: as it is
    except (ValueError, ArithmeticError, TypeError):
        return raw




def dump_value(value: Any) -> Any:
    """A JSON-safe form of a typed value (decimals and dates as text)."""
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value
