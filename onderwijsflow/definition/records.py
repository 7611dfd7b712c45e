"""Record values (language 1.1): turning what a person typed into a record's typed fields.

A record is validated completely before anything is written: an unknown field, a value of
the wrong type, a choice not among the choices or a partner the region does not have is one
sentence naming the field, and the record is refused whole.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from onderwijsflow.definition.model import FieldDef, RecordDef, coerce_value, dump_value
from onderwijsflow.i18n import _
from onderwijsflow.vocabulary import suggest

#: The longest text a field may hold; longer is a paste gone wrong, not a record.
MAX_TEXT = 20_000
#: The most items a list field may hold.
MAX_ITEMS = 200

#: The largest fields file `record add --file` reads.
MAX_FILE = 1_000_000

__all__ = ["MAX_ITEMS", "MAX_TEXT", "coerce_field", "field_matches", "read_fields_file",
           "validate_record"]


def read_fields_file(path: str) -> dict[str, Any]:
    """The fields of a record from a YAML mapping file (lists as YAML lists).

    Raises:
        UsageError: the file is unreadable, too large, not YAML or not a mapping of names.
    """
    from onderwijsflow.errors import UsageError
    from onderwijsflow.yamlsafe import YamlProblem, parse

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE + 1)
        if len(raw) > MAX_FILE:
            raise UsageError(_("{path}: a fields file is at most {size} bytes")
                             .format(path=path, size=MAX_FILE))
        data = parse(raw.decode("utf-8")).data  # alias expansion and nesting bounded
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(_("{path}: cannot read the file ({reason})").format(path=path, reason=err)
                         ) from None
    except YamlProblem as err:
        raise UsageError(_("{path}:{line}: not valid YAML").format(path=path, line=err.line)
                         ) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise UsageError(_("{path}: expected a mapping of field names to values").format(path=path))
    return data


def coerce_field(name: str, spec: FieldDef, raw: Any, partners: Collection[str] | None) -> Any:
    """The typed value of one field (JSON-safe: dates and decimals as text).

    Args:
        partners: the region's partner names, for `partner` fields (None: not checked).

    Raises:
        ValueError: one sentence naming the field and what was expected.
    """
    try:
        return _coerce(spec, raw, partners)
    except ValueError as err:
        raise ValueError(_("field '{name}': {problem}").format(name=name, problem=err)) from None


def _coerce(spec: FieldDef, raw: Any, partners: Collection[str] | None) -> Any:
    kind = spec.type
    if kind == "list":
        items = list(raw) if isinstance(raw, list | tuple) else [raw]
        if len(items) > MAX_ITEMS:
            raise ValueError(_("at most {most} items, got {count}")
                             .format(most=MAX_ITEMS, count=len(items)))
        return [_text(item) for item in items]
    if kind in ("text", "string"):
        return _text(raw)
    if kind == "choice":
        value = _text(raw)
        choices = spec.choices or ()
        if value not in choices:
            raise ValueError(_("'{value}' is not one of {choices}{suggestion}").format(
                value=value, choices=", ".join(choices), suggestion=suggest(value, choices)))
        return value
    if kind == "partner":
        value = _text(raw)
        if partners is not None and value not in partners:
            known = ", ".join(sorted(partners)) or _("none")
            raise ValueError(_("'{value}' is not a partner of the region{suggestion} "
                               "(partners: {known})").format(
                value=value, suggestion=suggest(value, partners), known=known))
        return value
    assert kind in ("int", "decimal", "bool", "date")
    return dump_value(coerce_value(kind, raw))


def _text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | date):
        raise ValueError(_("expected text, got {value}").format(value=repr(raw)))
    text = raw.isoformat() if isinstance(raw, date) else str(raw)
    if len(text) > MAX_TEXT:
        raise ValueError(_("at most {most} characters, got {count}")
                         .format(most=MAX_TEXT, count=len(text)))
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise ValueError(_("control characters are not allowed"))
    return text


def validate_record(
    kind: str, spec: RecordDef, given: Mapping[str, Any], partners: Collection[str] | None
) -> dict[str, Any]:
    """Every field of a new record, typed; required fields present, unknown ones refused.

    Returns:
        Field name -> JSON-safe value, in the order the kind declares its fields; empty
        optional fields are left out.

    Raises:
        ValueError: the first problem, as one sentence.
    """
    for name in given:
        if name not in spec.fields:
            raise ValueError(_("no field '{name}'{suggestion} (fields: {fields})").format(
                name=name, suggestion=suggest(str(name), spec.fields),
                fields=", ".join(spec.fields)))
    out: dict[str, Any] = {}
    for name, field in spec.fields.items():
        raw = given.get(name)
        if raw is None or raw == "" or raw == []:
            if field.required:
                raise ValueError(_("field '{name}' is required").format(name=name))
            continue
        out[name] = coerce_field(name, field, raw, partners)
    return out


def field_matches(value: Any, wanted: Collection[Any], *, numeric: bool = False) -> bool:
    """Does a stored field value match one of `wanted` (a list field: any of its items)?

    Args:
        numeric: the field is a decimal, stored as its text: ``1.50`` and ``1.5`` are the
            same amount.
    """
    if isinstance(value, list):
        return any(_one_of(item, wanted, numeric) for item in value)
    return _one_of(value, wanted, numeric)


def _one_of(value: Any, wanted: Collection[Any], numeric: bool) -> bool:
    if value in wanted:
        return True
    number = _number(value) if numeric else None
    return number is not None and any(_number(w) == number for w in wanted)


def _number(value: Any) -> Decimal | None:
    if not isinstance(value, str) or (not value[:1].isdigit() and value[:1] not in "-+."):
        return None
    try:
        number = Decimal(value)
    except ArithmeticError:
        return None
    return number if number.is_finite() else None
