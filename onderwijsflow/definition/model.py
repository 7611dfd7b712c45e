"""The workflow language, versions 1 and 1.1, as pydantic models (design §3, §3.1).

These models check the *shape* of a workflow file (types, unknown keys). Rules that
relate parts to each other (a transition to an undeclared state, an unknown requirement)
are checked by :mod:`onderwijsflow.definition.loader`, which also knows file and line.
A :class:`WorkflowDef` that the loader returns is valid and immutable.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from onderwijsflow import validation
from onderwijsflow.definition.durations import Duration
from onderwijsflow.i18n import N_, _, join_or, ngettext

# Re-exported: the value rules live where the lean read path can use them without pydantic.
from onderwijsflow.values import TYPE_ALIASES as TYPE_ALIASES
from onderwijsflow.values import ValueType as ValueType
from onderwijsflow.values import coerce_value as coerce_value
from onderwijsflow.values import dump_value as dump_value
from onderwijsflow.values import stored_value as stored_value

FieldType = Literal["string", "text", "int", "decimal", "bool", "date", "list", "choice", "partner"]

#: The ranges every value keeps to (see :mod:`onderwijsflow.validation`), here for the
#: modules that have always imported them from the workflow language.
INT_RANGE = validation.INT_RANGE
DATE_RANGE = validation.DATE_RANGE


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
    raise ValueError(_("expected an ISO 8601 duration such as P14D, P6W or P6M, got {value}")
                     .format(value=repr(value)))


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
    round does not see an earlier round's value. A number or date may declare the lowest
    (`min`) and highest (`max`) value it takes; a decimal how many `decimals` it has at most
    (an amount of money: ``decimals: 2``). The loader checks that these fit the type.
    """

    type: ValueType = "string"
    label: str | None = None
    choices: tuple[str, ...] | None = None
    scope: Literal["region", "case"] = "region"
    min: Any = None
    max: Any = None
    decimals: int | None = Field(default=None, ge=0, le=validation.DECIMAL_PLACES)

    _type = field_validator("type", mode="before")(lambda v: _alias_type(v))

    def value(self, raw: Any) -> Any:
        """`raw` (command-line or CSV text) as a value of this fact: of its type, within its
        `min` and `max`, with at most its `decimals` (choices are the caller's to check).

        Raises:
            ValueError: one sentence naming the value and what was expected.
        """
        typed = coerce_value(self.type, raw, places=self.decimals)
        low = None if self.min is None else coerce_value(self.type, self.min)
        high = None if self.max is None else coerce_value(self.type, self.max)
        return validation.check_bounds(typed, low, high)


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
        raise ValueError(_("expected a time such as \"16:00\", got {value}").format(value=repr(value)))


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


#: pydantic's messages a workflow author (or a check's parameters) meets, by error type, so
#: that they can be translated; each msgid is pydantic's own English text.
_PYDANTIC_MESSAGES = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "string_type": N_("Input should be a valid string"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "list_type": N_("Input should be a valid list"),
    "tuple_type": N_("Input should be a valid tuple"),
    "date_type": N_("Input should be a valid date"),
    "time_type": N_("Input should be a valid time"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "less_than": N_("Input should be less than {lt}"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime"),
    "time_parsing": N_("Input should be in a valid time format"),
}


def pydantic_message(error: Any) -> str:
    """The message of one pydantic error (an item of ``ValidationError.errors()``) in the
    reader's language.

    The common error types are translated; in English the text is pydantic's own. A type not
    known here, or a message pydantic has since reworded, is passed through as pydantic wrote it.
    """
    kind: str = error.get("type", "")
    msg: str = error.get("msg", "")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    english: str | None = None
    translated: str | None = None
    if kind in _PYDANTIC_MESSAGES:
        try:
            english = _PYDANTIC_MESSAGES[kind].format(**ctx)
            translated = _(_PYDANTIC_MESSAGES[kind]).format(**ctx)
        except (KeyError, IndexError, ValueError):
            return msg
    elif kind == "literal_error":
        choices = [f"'{c}'" for c in re.findall(r"'([^']*)'", str(ctx.get("expected", "")))]
        english = "Input should be " + (f"{', '.join(choices[:-1])} or {choices[-1]}"
                                        if len(choices) > 1 else "".join(choices))
        translated = _("Input should be {choices}").format(choices=join_or(choices))
    elif kind in ("too_short", "too_long") and ctx.get("field_type") in ("Tuple", "List"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        actual = ctx.get("actual_length")
        if isinstance(n, int) and isinstance(actual, int):
            english = (f"{ctx['field_type']} should have at "
                       f"{'least' if kind == 'too_short' else 'most'} {n} "
                       f"item{'' if n == 1 else 's'} after validation, not {actual}")
            translated = _length_message(kind, ctx["field_type"], n).format(n=n, actual=actual)
    return translated if translated is not None and english == msg else msg


def _length_message(kind: str, field_type: str, n: int) -> str:
    """pydantic's too_short/too_long message for a list of `n` items, translated."""
    if kind == "too_short" and field_type == "Tuple":
        return ngettext("Tuple should have at least {n} item after validation, not {actual}",
                        "Tuple should have at least {n} items after validation, not {actual}", n)
    if kind == "too_short":
        return ngettext("List should have at least {n} item after validation, not {actual}",
                        "List should have at least {n} items after validation, not {actual}", n)
    if field_type == "Tuple":
        return ngettext("Tuple should have at most {n} item after validation, not {actual}",
                        "Tuple should have at most {n} items after validation, not {actual}", n)
    return ngettext("List should have at most {n} item after validation, not {actual}",
                    "List should have at most {n} items after validation, not {actual}", n)
