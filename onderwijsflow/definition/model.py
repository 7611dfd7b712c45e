"""The workflow language, versions 1 and 1.1, as pydantic models (design §3, §3.1).

These models check the *shape* of a workflow file (types, unknown keys). Rules that
relate parts to each other (a transition to an undeclared state, an unknown requirement)
are checked by :mod:`onderwijsflow.definition.loader`, which also knows file and line.
A :class:`WorkflowDef` that the loader returns is valid and immutable.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from onderwijsflow.definition.durations import Duration

ValueType = Literal["string", "int", "decimal", "bool", "date"]
FieldType = Literal["string", "text", "int", "decimal", "bool", "date", "list", "choice", "partner"]

#: Other names for types, accepted wherever a type is named (facts, params, record fields).
TYPE_ALIASES = {"integer": "int", "number": "decimal", "boolean": "bool"}

#: Integers are stored as 64-bit values on both databases; a larger one could not be read back.
INT_RANGE = (-(2**63), 2**63 - 1)
#: Dates a person can mean in this domain; anything else is a typo (2204 for 2024).
DATE_RANGE = (date(1900, 1, 1), date(2200, 12, 31))


def _alias_type(value: Any) -> Any:
    return TYPE_ALIASES.get(value, value) if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True
    )


def _duration(value: Any) -> Duration | None:
    """Parse ISO 8601 text; refuse anything else (pydantic would build a Duration from a dict)."""
    if value is None or isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration.parse(value)
    raise ValueError(f"expected an ISO 8601 duration such as P14D, P6W or P6M, got {value!r}")


class ParamDef(_Strict):
    """A value given when a case is opened (e.g. a round's deadline)."""

    type: ValueType = "string"
    label: str | None = None
    required: bool = True
    default: Any = None

    _type = field_validator("type", mode="before")(lambda v: _alias_type(v))


class FactDef(_Strict):
    """A typed attribute a workflow reads or writes: of the region, or of one case (a round).

    A ``scope: case`` fact (the amount granted in one round) belongs to one case, so a later
    round does not see an earlier round's value.
    """

    type: ValueType = "string"
    label: str | None = None
    choices: tuple[str, ...] | None = None
    scope: Literal["region", "case"] = "region"

    _type = field_validator("type", mode="before")(lambda v: _alias_type(v))


class FieldDef(_Strict):
    """One field of a record kind."""

    type: FieldType = "string"
    label: str | None = None
    required: bool = False
    choices: tuple[str, ...] | None = None

    _type = field_validator("type", mode="before")(lambda v: _alias_type(v))


class RecordDef(_Strict):
    """A kind of structured entry kept on a region or a case (a peilgesprek, an action)."""

    label: str
    description: str | None = None
    scope: Literal["region", "case"] = "region"
    fields: dict[str, FieldDef]

    def date_fields(self) -> list[str]:
        """The names of the fields of type `date`, in file order."""
        return [name for name, f in self.fields.items() if f.type == "date"]


class BodyDef(_Strict):
    """A body outside the tool that takes decisions (OCW, DUS-I, the Bestuurlijk Overleg)."""

    label: str


class DecisionDef(_Strict):
    """A transition that records a decision taken elsewhere: by whom, and its document."""

    by: tuple[str, ...] = Field(min_length=1)
    document: str | None = None

    @field_validator("by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class MetByDef(_Strict):
    """A milestone occurrence is met when a record of `record` is added inside its window.

    The record's date is its `date_field` (default: the kind's first date field, else the
    moment it was added).
    """

    record: str
    date_field: str | None = None


class MigrationDef(_Strict):
    """How cases of an older `version` move to this one: old state -> new state."""

    version: int = Field(ge=1)
    states: dict[str, str] = {}


class StateDef(_Strict):
    """One state of the machine; `final` states have no way out."""

    label: str
    final: bool = False
    description: str | None = None


class CheckSpec(_Strict):
    """One check with its parameters: ``{check: partner, with: {kind: beroepsgroep}}``.

    Combinators (`all`, `any`, `not`) take a list of nested specs in `with`; a nested item
    may also name a declared requirement: ``{requirement: pva_aanwezig}``.
    """

    check: str | None = None
    with_: Any = Field(default=None, alias="with")
    requirement: str | None = None


class RequirementDef(CheckSpec):
    """A named, labelled check: the unit a refused transition reports."""

    label: str
    description: str | None = None


class TransitionDef(_Strict):
    """A trigger that moves a case from one of `source` to `dest`."""

    trigger: str
    label: str | None = None
    source: tuple[str, ...]
    dest: str
    requires: tuple[str, ...] = ()
    by: tuple[str, ...] | None = None
    decision: DecisionDef | None = None
    #: A right the region may use (an objection), not a step it owes: never "blocking".
    optional: bool = False

    @field_validator("source", "requires", "by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class DueDef(_Strict):
    """When a milestone falls due: a case parameter, or a duration after entering `active_in`.

    With ``from: decision`` the duration counts from the decision date of the move that
    entered the state (an objection period runs from the decision, not from its recording).
    """

    param: str | None = None
    after: Duration | None = None
    time: dt.time | None = None
    from_: Literal["entered", "decision"] = Field(default="entered", alias="from")

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        # YAML reads an unquoted 1600 as a number, which pydantic would take as seconds.
        if value is None or isinstance(value, str | dt.time):
            return value
        raise ValueError(f"expected a time such as \"16:00\", got {value!r}")


class OverdueAction(_Strict):
    """What happens automatically when a milestone passes while still active."""

    trigger: str


class MilestoneDef(_Strict):
    """A dated obligation of a case, with reminders and an optional overdue action."""

    name: str
    label: str | None = None
    due: DueDef | date | None = None
    every: Duration | None = None
    active_in: tuple[str, ...] = ()
    remind: tuple[Duration, ...] = ()
    notify: tuple[str, ...] = ()
    on_overdue: OverdueAction | None = None
    termijnenwet: bool = False
    met_by: MetByDef | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("remind", mode="before")
    @classmethod
    def _remind(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (_duration(value),)
        if isinstance(value, list | tuple):
            return tuple(_duration(v) for v in value)
        return value

    @field_validator("active_in", "notify", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class WorkflowDef(_Strict):
    """One workflow file: identified by `workflow` (its slug) and `version`."""

    workflow: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    version: int = Field(ge=1)
    title: str
    description: str | None = None
    initial: str
    params: dict[str, ParamDef] = {}
    facts: dict[str, FactDef] = {}
    records: dict[str, RecordDef] = {}
    bodies: dict[str, BodyDef] = {}
    states: dict[str, StateDef]
    requirements: dict[str, RequirementDef] = {}
    transitions: tuple[TransitionDef, ...] = ()
    milestones: tuple[MilestoneDef, ...] = ()
    migrates_from: tuple[MigrationDef, ...] = ()

    @field_validator("bodies", mode="before")
    @classmethod
    def _bodies(cls, value: Any) -> Any:
        # `bodies: {dus_i: DUS-I}` is the short form of `{dus_i: {label: DUS-I}}`.
        if isinstance(value, dict):
            return {k: {"label": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    def body_label(self, body: str) -> str:
        """The label of a deciding body, or its name."""
        found = self.bodies.get(body)
        return found.label if found else body

    def migration_from(self, version: int) -> MigrationDef | None:
        """The `migrates_from` entry for cases of `version`, if this version has one."""
        return next((m for m in self.migrates_from if m.version == version), None)

    def state_label(self, state: str) -> str:
        """The Dutch label of `state`, or the name itself."""
        found = self.states.get(state)
        return found.label if found else state

    def transitions_from(self, state: str) -> list[TransitionDef]:
        """The transitions whose source includes `state`, in file order."""
        return [t for t in self.transitions if state in t.source]

    def transition(self, state: str, trigger: str) -> TransitionDef | None:
        """The transition for `trigger` from `state`, if any."""
        for t in self.transitions:
            if t.trigger == trigger and state in t.source:
                return t
        return None

    @property
    def triggers(self) -> set[str]:
        """Every trigger name declared in this workflow."""
        return {t.trigger for t in self.transitions}


def coerce_value(kind: ValueType, raw: Any) -> Any:
    """Turn `raw` (YAML or command-line text) into a value of `kind`.

    Raises:
        ValueError: with a sentence saying what was expected.
    """
    if kind == "string":
        if isinstance(raw, str | int | Decimal) and not isinstance(raw, bool):
            return str(raw)
        raise ValueError(f"expected text, got {raw!r}")
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"true", "ja", "yes", "1"}:
            return True
        if text in {"false", "nee", "no", "0"}:
            return False
        raise ValueError(f"expected true or false (ja/nee), got {raw!r}")
    if kind == "int":
        if isinstance(raw, bool):
            raise ValueError(f"expected a whole number, got {raw!r}")
        try:
            number = int(str(raw).strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not INT_RANGE[0] <= number <= INT_RANGE[1]:
            raise ValueError(f"{raw!r} is too large; a whole number lies between "
                             f"{INT_RANGE[0]} and {INT_RANGE[1]}")
        return number
    if kind == "decimal":
        if isinstance(raw, bool):
            raise ValueError(f"expected a number, got {raw!r}")
        try:
            value = Decimal(str(raw).strip().replace(",", "."))
        except ArithmeticError:
            raise ValueError(f"expected a number such as 100000.00, got {raw!r}") from None
        if not value.is_finite():
            raise ValueError(f"expected a finite number, got {raw!r}")
        return value
    if kind == "date":
        if isinstance(raw, date):
            day = raw
        else:
            from onderwijsflow.clock import normalize_date_text

            try:
                day = date.fromisoformat(normalize_date_text(str(raw).strip()))
            except ValueError:
                raise ValueError(f"expected a date YYYY-MM-DD, got {raw!r}") from None
        if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
            raise ValueError(f"{day.isoformat()} lies outside the years 1900-2200")
        return day
    raise ValueError(f"unknown value type {kind!r}")


def dump_value(value: Any) -> Any:
    """A JSON-safe form of a typed value (decimals and dates as text)."""
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value
