"""Requirement checks: the built-ins of design §3 and the plug-in registry.

A check is a named function over a :class:`RegionContext` with a pydantic model for its
``with:`` parameters. It returns pass/fail *and* one sentence of what it found, because
"refused" alone helps nobody. Specs are compiled once, when a workflow loads, into plain
callables; so a workflow that loads cannot fail on a check at runtime.

The sentences are what a coordinator reads, so they say things the way a coordinator would
("no profession group or union as partner", "the RE's advice is missing"), in the language
of the process (:mod:`onderwijsflow.i18n`: English source text, Dutch from the catalog). A
sentence is built, and translated, when it is first read. Checks name things by their labels
where the workflow has them (a milestone's, a parameter's, a fact's, a record field's, a
state's), taken from the :class:`CompileScope` when the workflow loads; dates and numbers are
written as the language writes them. An ``any`` whose checks all fail says failures of one
kind in one sentence (:class:`Alike`): missing partners, missing documents, missing roles.

Plug-ins register more checks through the entry-point group ``onderwijsflow.checks``; each
entry point names a :class:`CheckType` (see :func:`check_type`).

A plug-in's sentences in other languages
----------------------------------------
A plug-in translates its own sentences with its own gettext catalog (its own *domain*), in
the language onderwijsflow speaks when the sentence is read. :func:`translator` gives it the
``_`` to do that with::

    from pathlib import Path
    from onderwijsflow.engine.checks import CheckResult, check_type, translator

    # locale/nl/LC_MESSAGES/mijn_checks.mo beside this module (made with Babel or msgfmt)
    _ = translator("mijn_checks", Path(__file__).parent / "locale")

    @check_type("sectoren", SectorenParams)
    def sectoren(p, ctx):
        found = ...
        return CheckResult(len(found) >= p.min, lambda: _(
            "school boards of {min} sectors needed, found: {found}").format(
            min=p.min, found=", ".join(found) or _("none")))

Give the sentence as a ``lambda`` (built when read, so in the reader's language) and format
*after* translating, with named fields. A plug-in may also say what decides its outcome
(``check_type(name, params, reads=lambda p: frozenset({"partners"}))``, names from
:data:`INPUTS`) so that the national report evaluates it once per distinct input; without
``reads`` it is evaluated for every case. A message the plug-in's catalog lacks, or a language
it has no catalog for, is shown as written in the source. ``_.ngettext`` does plurals.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from onderwijsflow import i18n
from onderwijsflow.definition.durations import Duration
from onderwijsflow.definition.model import pydantic_message
from onderwijsflow.definition.records import coerce_field, field_matches
from onderwijsflow.engine.context import DocumentInfo, RegionContext
from onderwijsflow.i18n import N_, _, join_and, join_or, ngettext, pgettext
from onderwijsflow.vocabulary import (
    DOCUMENT_KINDS,
    PARTNER_KINDS,
    REGION_ROLES,
    SECTORS,
    document_label,
    partner_label,
    require_member,
    role_label,
    suggest,
)

ENTRY_POINT_GROUP = "onderwijsflow.checks"


class Alike(NamedTuple):
    """How a failure joins others of its kind in one sentence, when an ``any`` fails.

    Failures with the same `key` are said together: the `items` of each (what differs, e.g.
    the partner kind) are joined with "or" and put in `sentence` ("no {items} as partner").
    """

    key: Hashable
    items: Callable[[], list[str]]
    sentence: Callable[[str], str]


class CheckResult:
    """The outcome of one check: passed or not, and one sentence of what was found.

    `detail` may be given as a zero-argument callable: the sentence is then built only when
    someone reads it. A refusal always reads it; bulk work (the national report, which only
    counts what passes) mostly does not, and formatting sentences is most of a check's cost.
    `alike` lets an ``any`` say this failure together with others of its kind.
    """

    __slots__ = ("_detail", "alike", "passed")

    def __init__(self, passed: bool, detail: str | Callable[[], str], alike: Alike | None = None) -> None:
        self.passed = passed
        self._detail = detail
        self.alike = alike

    @property
    def detail(self) -> str:
        """The sentence (built on first read)."""
        if not isinstance(self._detail, str):
            self._detail = self._detail()
        return self._detail

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckResult):
            return NotImplemented
        return (self.passed, self.detail) == (other.passed, other.detail)

    def __hash__(self) -> int:
        return hash((self.passed, self.detail))

    def __repr__(self) -> str:
        return f"CheckResult(passed={self.passed!r}, detail={self.detail!r})"


Compiled = Callable[[RegionContext], CheckResult]


class CheckSpecError(ValueError):
    """A check spec is invalid; `path` locates the offending key within the spec."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class CheckType:
    """A registered check: its name, parameter model and evaluation function.

    `reads`, when given, names (for the parsed parameters) every input whose value decides
    whether the check passes: :data:`INPUTS` lists the names. Bulk work that only counts what
    passes (the national report) then evaluates the check once per distinct input instead of
    once per region. None (a plug-in's default): the check may read anything.
    """

    name: str
    params: type[BaseModel]
    evaluate: Callable[[Any, RegionContext], CheckResult]
    reads: Callable[[Any], frozenset[str]] | None = None


def check_type(
    name: str, params: type[BaseModel], reads: Callable[[Any], frozenset[str]] | None = None,
) -> Callable[[Callable[..., CheckResult]], CheckType]:
    """Decorator that turns ``evaluate(params, ctx)`` into a :class:`CheckType`."""

    def wrap(func: Callable[..., CheckResult]) -> CheckType:
        return CheckType(name=name, params=params, evaluate=func, reads=reads)

    return wrap


#: The inputs a check's `reads` may name: :class:`RegionContext` fields, and
#: ``document_kinds`` for the kinds of the documents alone (their dates and titles aside).
INPUTS = frozenset({"partners", "roles", "documents", "document_kinds", "facts", "cases",
                    "rounds", "milestones", "params", "now", "records", "case_id", "network"})


def check_reads(check: Compiled) -> frozenset[str] | None:
    """The inputs (see :data:`INPUTS`) that decide whether a compiled check passes; None when
    unknown (a plug-in check, or a callable not compiled by a :class:`CheckRegistry`)."""
    found: frozenset[str] | None = getattr(check, "reads", None)
    return found


def _with_reads(check: Compiled, reads: frozenset[str] | None) -> Compiled:
    """`check`, marked with what decides its outcome (a function attribute: no wrapper, so
    no extra call on every evaluation)."""
    check.reads = reads  # type: ignore[attr-defined]
    return check


class Translator:
    """A plug-in's ``_``: its own gettext catalog, in the language onderwijsflow speaks now."""

    def __init__(self, domain: str, localedir: str | Path) -> None:
        self.domain = domain
        self.localedir = Path(localedir)
        self._catalogs: dict[str, _gettext.NullTranslations] = {}

    def _catalog(self) -> _gettext.NullTranslations:
        language = i18n.current()
        found = self._catalogs.get(language)
        if found is None:
            found = _gettext.translation(self.domain, self.localedir, languages=[language],
                                         fallback=True)
            self._catalogs[language] = found
        return found

    def __call__(self, message: str) -> str:
        """`message` in the current language (as written when the catalog lacks it)."""
        return self._catalog().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for `n`, in the current language."""
        return self._catalog().ngettext(singular, plural, n)


def translator(domain: str, localedir: str | Path) -> Translator:
    """The ``_`` for a plug-in whose catalogs are ``localedir/LANG/LC_MESSAGES/domain.mo``."""
    return Translator(domain, localedir)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _member(kind: str, choices: tuple[str, ...]) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if value is not None and (problem := require_member(kind, value, choices)):
            raise ValueError(problem)
        return value

    return validate


# --- how sentences name things ----------------------------------------------------------------


def _lower_first(text: str) -> str:
    """A label inside a sentence: "Deadline subsidieaanvraag" -> "deadline subsidieaanvraag";
    an abbreviation stays ("DUS-I verwacht")."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _words(slug: str) -> str:
    """A name without a label, as words: "in_uitvoering" -> "in uitvoering"."""
    return slug.replace("_", " ")


def _day(day: date) -> str:
    """A day in a sentence: "4 juni 2025" / "4 June 2025"."""
    return i18n.format_sentence_day(day)


def _value(value: Any) -> str:
    """A fact's (or bound's) value as a person reads it."""
    if value is None:
        return pgettext("fact value", "not set")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, datetime):
        return i18n.format_datetime(value)
    if isinstance(value, date):
        return _day(value)
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def _number(value: int | float | Decimal) -> str:
    """A number as the language writes it, with the decimals it was written with
    (150000.50 -> "150.000,50" / "150,000.50")."""
    whole = i18n.format_whole(value)  # Babel's text without Babel: figures differ per region
    if whole is not None:
        return whole
    pattern = None
    if isinstance(value, Decimal) and value.is_finite():
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        pattern = "#,##0" + ("." + "0" * places if places else "")
    return _formatted(repr(value), value, pattern, i18n.locale())


@lru_cache(maxsize=4096)
def _formatted(_written: str, value: int | float | Decimal, pattern: str | None, locale: str) -> str:
    """Babel's formatting, remembered: bulk work says the same thresholds and values in every
    case's evidence (`_written`, the value's repr, keeps apart what compares equal: 1 and
    1.0, 0 and -0; `pattern` 1.5 and 1.50)."""
    from babel.numbers import format_decimal

    return format_decimal(value, format=pattern, locale=locale, decimal_quantization=False)


def _field_value(value: Any) -> str:
    """A record field's value in a sentence: stored form, yes/no for booleans."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


_DURATION_PART = re.compile(r"(\d+)([YMWDHS])")
_DURATION_UNITS: dict[tuple[str, bool], Callable[[int], str]] = {
    ("Y", False): lambda n: ngettext("{n} year", "{n} years", n),
    ("M", False): lambda n: ngettext("{n} month", "{n} months", n),
    ("W", False): lambda n: ngettext("{n} week", "{n} weeks", n),
    ("D", False): lambda n: ngettext("{n} day", "{n} days", n),
    ("H", True): lambda n: ngettext("{n} hour", "{n} hours", n),
    ("M", True): lambda n: ngettext("{n} minute", "{n} minutes", n),
    ("S", True): lambda n: ngettext("{n} second", "{n} seconds", n),
}


def _duration(duration: Duration) -> str:
    """ "P6W" -> "6 weeks" / "6 weken"; "P1Y6M" -> "1 year and 6 months"."""
    text = str(duration)
    date_part, _sep, time_part = text.removeprefix("P").partition("T")
    parts = []
    for part, in_time in ((date_part, False), (time_part, True)):
        for number, unit in _DURATION_PART.findall(part):
            n = int(number)
            parts.append(_DURATION_UNITS[(unit, in_time)](n).format(n=n))
    return join_and(parts) or text


# --- built-in checks -------------------------------------------------------------------


class PartnerParams(_Params):
    kind: str
    sector: str | None = None
    min: int = Field(default=1, ge=1)

    _kind = field_validator("kind")(lambda v: _member(N_("partner kind"), PARTNER_KINDS)(v))
    _sector = field_validator("sector")(lambda v: _member(N_("sector"), SECTORS)(v))


def _partner_name(p: PartnerParams, count: int = 1) -> str:
    name = partner_label(p.kind, count)
    return f"{name} ({p.sector})" if p.sector else name


def _no_partner(partners: str) -> str:
    return _("no {partner} as partner").format(partner=partners)


def _names(names: list[str], shown: int = 5) -> str:
    """Up to `shown` names, then how many more."""
    listed = ", ".join(names[:shown])
    if len(names) <= shown:
        return listed
    return _("{names} and {more} more").format(names=listed, more=len(names) - shown)


@check_type("partner", PartnerParams, lambda p: frozenset({"partners"}))
def _partner(p: PartnerParams, ctx: RegionContext) -> CheckResult:
    # The matching partners, listed once: counted here, named by the sentence.
    matching = [x for x in ctx.partners
                if x.kind == p.kind and (p.sector is None or x.sector == p.sector)]
    found = len(matching)
    if found >= p.min:
        def present() -> str:
            return _("{partners} as partner: {names}").format(
                partners=_partner_name(p, found), names=_names([x.name for x in matching]))

        return CheckResult(True, present)
    if found == 0 and p.min == 1:
        return CheckResult(False, lambda: _no_partner(_partner_name(p)),
                           Alike("partner", lambda: [_partner_name(p)], _no_partner))
    return CheckResult(False, lambda: _("{min} {partners} needed as partners, {found} found").format(
        min=p.min, partners=_partner_name(p, p.min), found=found))


class RoleParams(_Params):
    role: tuple[str, ...]
    min: int = Field(default=1, ge=1)

    @field_validator("role", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(r, str) for r in value):
            raise ValueError(_("role must be a role name or a list of role names"))
        roles = tuple(value)
        for role in roles:
            _member(N_("role"), REGION_ROLES)(role)
        return roles


def _no_role(roles: str) -> str:
    return _("no {roles} appointed yet").format(roles=roles)


@check_type("role", RoleParams, lambda p: frozenset({"roles"}))
def _role(p: RoleParams, ctx: RegionContext) -> CheckResult:
    holders: dict[str, list[str]] = {}
    for r in ctx.roles:
        if r.role in p.role:
            holders.setdefault(r.person, []).append(r.role)

    def roles() -> list[str]:
        return [role_label(r) for r in p.role]

    def people() -> str:
        return ", ".join(
            _("{person} as {roles}").format(
                person=person, roles=join_and([role_label(r) for r in p.role if r in held]))
            for person, held in sorted(holders.items()))

    if len(holders) >= p.min:
        return CheckResult(True, lambda: _("appointed: {holders}").format(holders=people()))
    if not holders and p.min == 1:
        return CheckResult(False, lambda: _no_role(join_or(roles())),
                           Alike("role", roles, _no_role))
    if not holders:
        return CheckResult(False, lambda: _("{min} people needed as {roles}, none appointed yet")
                           .format(min=p.min, roles=join_or(roles())))
    return CheckResult(False, lambda: _("{min} people needed as {roles}, found: {holders}").format(
        min=p.min, roles=join_or(roles()), holders=people()))


class DocumentParams(_Params):
    kind: str
    min: int = Field(default=1, ge=1)
    since: str | None = None  # a date parameter of the case: only documents from that day on
    _since_label: str | None = PrivateAttr(default=None)

    _kind = field_validator("kind")(lambda v: _member(N_("document kind"), DOCUMENT_KINDS)(v))


def _document_day(d: DocumentInfo) -> date | None:
    """A document's date, else the local day it was recorded."""
    if d.date is not None or d.added is None:
        return d.date
    from onderwijsflow.clock import to_local

    return to_local(d.added).date()


def _missing(documents: str, since: date | None) -> str:
    if since is None:
        return _("{document} is missing").format(document=documents)
    return _("{document} dated {day} or later is missing").format(document=documents, day=_day(since))


@check_type("document", DocumentParams, lambda p: frozenset(
    {"document_kinds"} if p.since is None else {"documents", "params"}))
def _document(p: DocumentParams, ctx: RegionContext) -> CheckResult:
    found = [d for d in ctx.documents if d.kind == p.kind]
    since = None
    if p.since is not None:
        raw = ctx.params.get(p.since)
        since = date.fromisoformat(raw) if isinstance(raw, str) else raw
        if since is None:
            return CheckResult(False, lambda: _("no date for {what} in this case").format(
                what=_lower_first(p._since_label) if p._since_label else p.since))
        found = [d for d in found if (day := _document_day(d)) is not None and day >= since]

    def titles() -> str:
        return "; ".join(f"'{d.title}'" for d in found[:3]) + ("; …" if len(found) > 3 else "")

    def recorded() -> str:
        label = document_label(p.kind)
        if since is None:
            return _("{document} is recorded: {titles}").format(document=label, titles=titles())
        return _("{document} dated {day} or later is recorded: {titles}").format(
            document=label, day=_day(since), titles=titles())

    def too_few() -> str:
        label = document_label(p.kind)
        if since is None:
            sentence = _("{document}: {min} needed, {found} found").format(
                document=label, min=p.min, found=len(found))
        else:
            sentence = _("{document} dated {day} or later: {min} needed, {found} found").format(
                document=label, day=_day(since), min=p.min, found=len(found))
        return f"{sentence}: {titles()}" if found else sentence

    if len(found) >= p.min:
        return CheckResult(True, recorded)
    if not found and p.min == 1:
        return CheckResult(False, lambda: _missing(document_label(p.kind), since),
                           Alike(("document", since), lambda: [document_label(p.kind)],
                                 lambda items: _missing(items, since)))
    return CheckResult(False, too_few)


class FactParams(_Params):
    name: str
    set: bool | None = None
    equals: Any = None
    min: Decimal | date | None = None
    max: Decimal | date | None = None
    _label: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _exactly_one(self) -> FactParams:
        given = [k for k in ("set", "equals", "min", "max") if getattr(self, k) is not None]
        if not given:
            raise ValueError(_("a fact check needs one of set, equals, min or max"))
        if len(given) > 1 and set(given) != {"min", "max"}:
            raise ValueError(_("a fact check takes one of set, equals, min/max, not {given}")
                             .format(given=", ".join(given)))
        return self


def _equal(value: Any, wanted: Any) -> bool:
    """`value == wanted`, except that YAML's floats meet decimal facts by their written value.

    ``Decimal("0.1") == 0.1`` is False in Python (the float is not exactly 0.1), while a
    workflow saying ``equals: 0.1`` means the decimal 0.1.
    """
    if isinstance(value, Decimal) and isinstance(wanted, float):
        return value == Decimal(repr(wanted))
    return bool(value == wanted)


@check_type("fact", FactParams, lambda p: frozenset({"facts"}))
def _fact(p: FactParams, ctx: RegionContext) -> CheckResult:
    value: Any = ctx.facts.get(p.name)
    if p.set is not None:
        present = value is not None
        if p.set:
            return CheckResult(present, lambda: (
                _("{fact}: {value}").format(fact=_fact_name(p), value=_value(value)) if present
                else _("{fact} is not set yet").format(fact=_fact_name(p))))
        return CheckResult(not present, lambda: (
            _("{fact} must not be set, is {value}").format(fact=_fact_name(p), value=_value(value))
            if present else _("{fact} is not set").format(fact=_fact_name(p))))
    if p.equals is not None:
        ok = _equal(value, p.equals)
        return CheckResult(ok, lambda: (
            _("{fact}: {value}") if ok else _("{fact}: {value} (must be {wanted})")
        ).format(fact=_fact_name(p), value=_value(value), wanted=_value(p.equals)))
    ok = value is not None
    try:
        if ok and p.min is not None:
            ok = value >= p.min
        if ok and p.max is not None:
            ok = value <= p.max
    except TypeError:
        ok = False

    def detail() -> str:
        # Only the bounds the sentence names are written out (each is a number to format).
        fact, said = _fact_name(p), _value(value)
        if p.min is not None and p.max is not None:
            return _("{fact} must be at least {min} and at most {max}, is {value}").format(
                fact=fact, min=_value(p.min), max=_value(p.max), value=said)
        if p.min is not None:
            return _("{fact} must be at least {min}, is {value}").format(
                fact=fact, min=_value(p.min), value=said)
        return _("{fact} must be at most {max}, is {value}").format(
            fact=fact, max=_value(p.max), value=said)

    return CheckResult(ok, detail)


def _fact_name(p: FactParams) -> str:
    """The fact's label from the workflow, else its name."""
    label: str | None = _private(p, "_label")
    return label or p.name


def _private(params: BaseModel, name: str) -> Any:
    """A private attribute of parsed parameters, read from pydantic's own store: its lookup
    through ``__getattr__`` costs some 30 times more (1.7 µs), and sentences read them for
    every case of bulk work."""
    found = params.__pydantic_private__
    assert found is not None  # the models here declare private attributes
    return found[name]


class CaseParams(_Params):
    workflow: str
    state: tuple[str, ...]
    round: str | None = None
    _states: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("round", mode="before")
    @classmethod
    def _round(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("state", mode="before")
    @classmethod
    def _states_given(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


@check_type("case", CaseParams, lambda p: frozenset({"cases" if p.round is None else "rounds"}))
def _case(p: CaseParams, ctx: RegionContext) -> CheckResult:
    if p.round is not None:
        state = ctx.rounds.get(p.workflow, {}).get(p.round)
        states = [state] if state is not None else []
    else:
        states = ctx.cases.get(p.workflow, [])
    ok = any(s in p.state for s in states)

    def label(state: str) -> str:
        found = _private(p, "_states").get(state)
        return _lower_first(found) if found else _words(state)

    def detail() -> str:
        fields = {"workflow": p.workflow, "round": p.round}
        if not states:
            return (_("no {workflow} case of round {round}") if p.round is not None
                    else _("no {workflow} case")).format(**fields)
        if ok:
            fields["state"] = label(next(s for s in states if s in p.state))
            return (_("the {workflow} case of round {round} is in {state}") if p.round is not None
                    else _("a {workflow} case is in {state}")).format(**fields)
        fields["found"] = join_and([label(s) for s in dict.fromkeys(states)])
        fields["wanted"] = join_or([label(s) for s in p.state])
        if p.round is not None:
            return _("the {workflow} case of round {round} is in {found}, needed: {wanted}").format(
                **fields)
        return ngettext("the {workflow} case is in {found}, needed: {wanted}",
                        "the {workflow} cases are in {found}, needed: {wanted}",
                        len(states)).format(**fields)

    return CheckResult(ok, detail)


class MomentParams(_Params):
    milestone: str | None = None
    date: datetime | None = None
    param: str | None = None
    time: dt_time | None = None
    offset: Duration | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    #: The label of the milestone or parameter, set when compiled against a workflow.
    _label: str | None = PrivateAttr(default=None)

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if value is None or isinstance(value, str | dt_time):
            return value
        raise ValueError(_("expected a time such as \"09:00\", got {value}").format(value=repr(value)))

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: Any) -> Any:
        return Duration.parse(value) if isinstance(value, str) else value

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        from onderwijsflow.clock import parse_moment
        from onderwijsflow.errors import UsageError

        if isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()
        try:
            return parse_moment(value) if isinstance(value, str) else value
        except UsageError as err:
            raise ValueError(str(err)) from None

    @model_validator(mode="after")
    def _one(self) -> MomentParams:
        if sum(x is not None for x in (self.milestone, self.date, self.param)) != 1:
            raise ValueError(_("give exactly one of milestone, date or param"))
        if self.time is not None and self.param is None:
            raise ValueError(_("time is only used with param (a date parameter of the case)"))
        return self


def _moment(p: MomentParams, ctx: RegionContext) -> datetime | None:
    if p.param is not None:
        from onderwijsflow.clock import END_OF_DAY, local_moment

        raw = ctx.params.get(p.param)
        day = date.fromisoformat(raw) if isinstance(raw, str) else raw
        moment = local_moment(day, p.time or END_OF_DAY) if isinstance(day, date) else None
    else:
        moment = ctx.milestones.get(p.milestone) if p.milestone else p.date
    if moment is not None and p.offset is not None:
        moment = p.offset.add_to(moment)  # type: ignore[assignment]
    return moment


def _what(p: MomentParams) -> str:
    """The milestone or parameter a moment is counted from, as a sentence names it."""
    if p.milestone is not None:
        what = (_("the {milestone}").format(milestone=_lower_first(p._label)) if p._label
                else _("milestone {name}").format(name=p.milestone))
    elif p.param is not None:
        what = _lower_first(p._label) if p._label else _words(p.param)
    else:
        what = _("the date")
    if p.offset is not None:
        what = _("{duration} after {what}").format(duration=_duration(p.offset), what=what)
    return what


def _moment_reads(p: MomentParams) -> frozenset[str]:
    """What a ``before``/``after`` check's outcome depends on: now, and what its moment counts
    from (a parameter of the case, a milestone, or a date given in the spec)."""
    if p.param is not None:
        return frozenset({"now", "params"})
    return frozenset({"now", "milestones"}) if p.milestone is not None else frozenset({"now"})


_BEFORE = {
    "milestone": N_("must be before {what} ({when})"),
    "param": N_("must be before {when} ({what})"),
    "date": N_("must be before {when}"),
}
_AFTER = {
    "milestone": N_("must be on or after {what} ({when})"),
    "param": N_("must be on or after {when} ({what})"),
    "date": N_("must be on or after {when}"),
}


def _timed(p: MomentParams, ctx: RegionContext, sentences: dict[str, str],
           holds: Callable[[datetime], bool]) -> CheckResult:
    moment = _moment(p, ctx)
    if moment is None:
        return CheckResult(False, lambda: _("no date for {what} in this case").format(what=_what(p)))
    which = "milestone" if p.milestone else "param" if p.param else "date"
    return CheckResult(holds(moment), lambda: _(sentences[which]).format(
        what=_what(p), when=i18n.format_datetime(moment)))


@check_type("before", MomentParams, _moment_reads)
def _before(p: MomentParams, ctx: RegionContext) -> CheckResult:
    return _timed(p, ctx, _BEFORE, lambda moment: ctx.now < moment)


@check_type("after", MomentParams, _moment_reads)
def _after(p: MomentParams, ctx: RegionContext) -> CheckResult:
    return _timed(p, ctx, _AFTER, lambda moment: ctx.now >= moment)


class RecordParams(_Params):
    kind: str
    min: int = Field(default=1, ge=1)
    within: Duration | None = None
    date_field: str | None = None
    where: dict[str, tuple[Any, ...]] | None = None
    each: dict[str, tuple[Any, ...]] | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    #: The `where`/`each` fields that hold decimals (compared by value), set when bound.
    _numeric: frozenset[str] = PrivateAttr(default=frozenset())
    #: The labels of the kind's fields, set when bound.
    _labels: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, value: Any) -> Any:
        if value is None or isinstance(value, Duration):
            return value
        if not isinstance(value, str):
            raise ValueError(_("expected an ISO 8601 duration such as P6M, got {value}")
                             .format(value=repr(value)))
        return Duration.parse(value)

    @field_validator("where", "each", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        if not isinstance(value, Mapping) or not value:
            raise ValueError(_("expected a mapping of field: value or [values]"))
        out = {k: tuple(v) if isinstance(v, list | tuple) else (v,) for k, v in value.items()}
        if empty := [k for k, v in out.items() if not v]:
            raise ValueError(_("field '{field}' needs at least one value").format(field=empty[0]))
        return out

    @model_validator(mode="after")
    def _consistent(self) -> RecordParams:
        if self.date_field is not None and self.within is None:
            raise ValueError(_("date_field is only used with within"))
        if self.each is not None and len(self.each) != 1:
            raise ValueError(_("each takes exactly one field with its values"))
        return self


def _record_day(record: Any, date_field: str | None) -> date | None:
    """The date a record counts on: its `date_field` (None when it has none), else the local
    day it was added."""
    if date_field:
        raw = record.fields.get(date_field)
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    from onderwijsflow.clock import to_local

    return to_local(record.at).date()


def _value_counts(records: list[Any], name: str, values: tuple[Any, ...],
                  numeric: bool) -> dict[Any, int]:
    """How many of `records` hold each of `values` in field `name` (one pass over them)."""
    counts: dict[Any, int] = {}
    wanted = set(values)
    for record in records:
        value = record.fields.get(name)
        items = set(value) if isinstance(value, list) else {value}
        hits = items & wanted
        if numeric and not hits:
            hits = {v for v in values if field_matches(value, (v,), numeric=True)}
        for hit in hits:
            counts[hit] = counts.get(hit, 0) + 1
    return counts


def _records_named(p: RecordParams) -> str:
    """ "actie with thema werven or matchen" / "actie met thema werven of matchen"."""
    what = _words(p.kind)
    for name, values in (p.where or {}).items():
        what = _("{record} with {field} {values}").format(
            record=what, field=_field_name(p, name), values=join_or([_field_value(v) for v in values]))
    return what


def _field_name(p: RecordParams, name: str) -> str:
    label = _private(p, "_labels").get(name)
    return _lower_first(label) if label else _words(name)


@check_type("record", RecordParams, lambda p: frozenset({"records", "case_id", "now"}))
def _record(p: RecordParams, ctx: RegionContext) -> CheckResult:
    found = ctx.records_of(p.kind)
    numeric = _private(p, "_numeric")
    for name, wanted in (p.where or {}).items():
        found = [r for r in found
                 if field_matches(r.fields.get(name), wanted, numeric=name in numeric)]
    if p.each is not None:
        ((name, values),) = p.each.items()
        counts = _value_counts(found, name, values, name in numeric)
        short = [v for v in values if counts.get(v, 0) < p.min]

        def each() -> str:
            fields = {"what": _records_named(p), "field": _field_name(p, name), "min": p.min,
                      "values": ", ".join(_field_value(v) for v in short or values)}
            if not short:
                return _("{what} recorded for {field} {values}").format(**fields)
            if p.min == 1:
                return _("no {what} for {field} {values}").format(**fields)
            return _("fewer than {min} {what} for {field} {values}").format(**fields)

        return CheckResult(not short, each)
    if p.within is None:
        def counted() -> str:
            if not found and p.min == 1:
                return _("no {what} recorded").format(what=_records_named(p))
            return _("{what}: {min} needed, {found} found").format(
                what=_records_named(p), min=p.min, found=len(found))

        return CheckResult(len(found) >= p.min, counted)
    from onderwijsflow.clock import to_local

    today = to_local(ctx.now).date()
    since = p.within.before(today)
    assert isinstance(since, date)
    days = sorted(d for d in (_record_day(r, p.date_field) for r in found) if d and d <= today)
    recent = [d for d in days if d >= since]

    def detail() -> str:
        fields = {"what": _records_named(p), "since": _day(since), "min": p.min,
                  "found": len(recent), "last": _day(days[-1]) if days else ""}
        if not recent and p.min == 1:
            return (_("no {what} since {since} (the last on {last})") if days
                    else _("no {what} since {since} (none recorded)")).format(**fields)
        return (_("{what} since {since}: {min} needed, {found} found (the last on {last})") if days
                else _("{what} since {since}: {min} needed, {found} found (none recorded)")
                ).format(**fields)

    return CheckResult(len(recent) >= p.min, detail)


# --- the national network: the regulation's geography (issue 13) -------------------------------


def connected_parts(nodes: Iterable[str], pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The connected parts of `nodes` under `pairs` (pairs outside `nodes` are ignored):
    each part sorted, the largest part first."""
    parent = {n: n for n in nodes}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in pairs:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    parts: dict[str, list[str]] = {}
    for n in sorted(parent):
        parts.setdefault(root(n), []).append(n)
    return sorted(parts.values(), key=lambda part: (-len(part), part[0]))


class _NetworkParams(_Params):
    _labels: dict[str, str] = PrivateAttr(default_factory=dict)

    def fact_names(self) -> list[str]:
        """The facts this check falls back to (checked against the workflow's facts)."""
        return []


class UniqueParams(_NetworkParams):
    fact: str | None = None  # a bool fact that says the same, when no locations are recorded

    def fact_names(self) -> list[str]:
        return [self.fact] if self.fact else []


class ContiguousParams(_NetworkParams):
    fact: str | None = None  # a bool fact that says the same, when no area is recorded
    exempt: str | None = None  # a bool fact marking a national region, exempt from this rule

    def fact_names(self) -> list[str]:
        return [f for f in (self.fact, self.exempt) if f]


class SizeParams(_NetworkParams):
    min: dict[str, int]  # sector -> pupils or students needed; met in at least one sector
    facts: dict[str, str] = Field(default_factory=dict)  # sector -> the fact declaring the number

    @field_validator("min", "facts")
    @classmethod
    def _sectors(cls, value: dict[str, Any]) -> dict[str, Any]:
        for sector in value:
            _member(N_("sector"), SECTORS)(sector)
        return value

    def fact_names(self) -> list[str]:
        return list(self.facts.values())


def _fact_said(p: _NetworkParams, name: str, ctx: RegionContext) -> str:
    return _("{fact}: {value}").format(fact=_lower_first(p._labels.get(name, _words(name))),
                                       value=_value(ctx.facts.get(name)))


def _declared(p: _NetworkParams, name: str | None, ctx: RegionContext, missing: str) -> CheckResult:
    """The fallback to a declared bool fact, saying that the network data is missing
    (`missing`: the msgid of that, translated when the sentence is read)."""
    if name is None:
        return CheckResult(False, lambda: _(missing))
    ok = ctx.facts.get(name) is True
    return CheckResult(ok, lambda: _("{missing}; from the declared facts: {fact}").format(
        missing=_(missing), fact=_fact_said(p, name, ctx)))


@check_type("coverage_unique", UniqueParams, lambda p: frozenset({"network", "facts"}))
def _coverage_unique(p: UniqueParams, ctx: RegionContext) -> CheckResult:
    net = ctx.network
    if net is None or not (net.locations or net.unknown):
        return _declared(p, p.fact, ctx, N_("no school locations are recorded for this region"))
    shared = sorted(net.elsewhere.items())
    names = {loc.code: loc.name for loc in net.locations}
    if not shared:
        count = len(net.locations) + len(net.unknown)
        return CheckResult(True, lambda: ngettext(
            "the {n} school location takes part in this region only",
            "each of the {n} school locations takes part in this region only", count).format(n=count))

    def detail() -> str:
        items = [_("{location} ({code}) is also in {regions}").format(
            location=names.get(code, code), code=code, regions=join_and(list(others)))
            for code, others in shared]
        return _names(items, 3).replace(", ", "; ")

    return CheckResult(False, detail)


@check_type("contiguous", ContiguousParams, lambda p: frozenset({"network", "facts"}))
def _contiguous(p: ContiguousParams, ctx: RegionContext) -> CheckResult:
    if p.exempt is not None and ctx.facts.get(p.exempt) is True:
        return CheckResult(True, lambda: _("a national region, exempt from the contiguous area ({fact})")
                           .format(fact=_fact_said(p, p.exempt or "", ctx)))
    net = ctx.network
    if net is None or not net.municipalities:
        return _declared(p, p.fact, ctx, N_("no municipalities are recorded for this region"))
    if not net.has_adjacency:
        return _declared(p, p.fact, ctx, N_("no adjacency of municipalities is loaded"))
    parts = connected_parts(net.municipalities, net.borders)
    if len(parts) == 1:
        count = len(parts[0])
        return CheckResult(True, lambda: ngettext(
            "the {n} municipality forms one contiguous area",
            "the {n} municipalities form one contiguous area", count).format(n=count))

    def detail() -> str:
        said = ["(" + ", ".join(net.municipalities[c] for c in part) + ")" for part in parts]
        return _("the municipalities form {n} separate parts: {parts}").format(
            n=len(parts), parts=join_and(said))

    return CheckResult(False, detail)


@check_type("size", SizeParams, lambda p: frozenset({"network", "facts"}))
def _size(p: SizeParams, ctx: RegionContext) -> CheckResult:
    net = ctx.network
    if net is not None and net.locations:
        counts = {sector: 0 for sector in p.min}
        for loc in net.locations:
            if loc.sector in counts:
                counts[loc.sector] += loc.pupils or 0
        ok = any(counts[s] >= need for s, need in p.min.items())

        def found() -> str:
            return _("pupils and students of the region's school locations: {counts}").format(
                counts=", ".join(_("{sector} {found} ({needed} needed)").format(
                    sector=s, found=_number(counts[s]), needed=_number(need)) for s, need in p.min.items()))

        return CheckResult(ok, found)
    values = {s: ctx.facts.get(p.facts[s]) if s in p.facts else None for s in p.min}
    ok = any(isinstance(value, int | Decimal) and value >= p.min[s] for s, value in values.items())

    def declared() -> str:
        return _("no school locations are recorded for this region; from the declared facts: "
                 "{counts}").format(
            counts=", ".join(_("{sector} {found} ({needed} needed)").format(
                sector=s, found=_value(values[s]), needed=_number(need)) for s, need in p.min.items()))

    return CheckResult(ok, declared)


NETWORK_CHECKS = ("coverage_unique", "contiguous", "size")


BUILTIN: dict[str, CheckType] = {
    c.name: c for c in (_partner, _role, _document, _fact, _case, _before, _after, _record,
                        _coverage_unique, _contiguous, _size)
}
COMBINATORS = ("all", "any", "not")


# --- compiling specs ---------------------------------------------------------------------


@dataclass(frozen=True)
class CompileScope:
    """What a spec may refer to: the workflow's facts, milestones, requirements and records.

    The labels are what sentences call things by (a milestone's label, the states of other
    workflows); without them a sentence names the slug.
    """

    facts: Mapping[str, Any]
    milestones: frozenset[str]
    requirements: Mapping[str, Any]
    records: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None  # None: not checked (a check compiled on its own)
    #: milestone name -> label.
    milestone_labels: Mapping[str, str] = field(default_factory=dict)
    #: workflow -> state -> label, for `case` checks (the workflow's own states, and others').
    state_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def for_workflow(cls, definition: Any, requirements: Mapping[str, Any],
                     others: Mapping[str, Any] | None = None) -> CompileScope:
        """The scope of a workflow definition (a ``WorkflowDef``) and its requirement specs;
        `others` (name -> ``WorkflowDef``) lends the state labels of the workflows it knows."""
        workflows = {**(others or {}), definition.workflow: definition}
        return cls(
            facts=definition.facts,
            milestones=frozenset(m.name for m in definition.milestones),
            requirements=requirements,
            records=definition.records,
            params=definition.params,
            milestone_labels={m.name: m.label for m in definition.milestones if m.label},
            state_labels={name: {s: d.label for s, d in w.states.items()}
                          for name, w in workflows.items()},
        )


class CheckRegistry:
    """The checks known to this process: built-ins plus entry-point plug-ins."""

    def __init__(self, extra: Mapping[str, CheckType] | None = None, *, plugins: bool = True):
        self.types: dict[str, CheckType] = dict(BUILTIN)
        if plugins:
            self.types.update(_entry_point_checks())
        self.types.update(extra or {})

    @property
    def names(self) -> list[str]:
        """Every usable `check:` name, combinators included."""
        return sorted([*self.types, *COMBINATORS])

    def compile_workflow(
        self, definition: Any, specs: Mapping[str, dict[str, Any]]
    ) -> tuple[dict[str, Compiled], dict[str, tuple[tuple[str | int, ...], str]]]:
        """Compile a workflow's requirement specs (the loader's ``RequirementCompiler``).

        Returns:
            The compiled checks by name, and for each spec that failed: where in it, and why.
        """
        scope = CompileScope.for_workflow(definition, specs)
        compiled: dict[str, Compiled] = {}
        failed: dict[str, tuple[tuple[str | int, ...], str]] = {}
        for name, spec in specs.items():
            try:
                compiled[name] = self.compile(spec, scope)
            except CheckSpecError as err:
                failed[name] = (err.path, str(err))
            except Exception as err:  # a plug-in check, or a spec too odd for a check's validator
                failed[name] = (("with",), _("invalid check parameters ({problem})").format(problem=err))
        return compiled, failed

    def compile(self, spec: Any, scope: CompileScope, _seen: tuple[str, ...] = ()) -> Compiled:
        """Compile a ``{check, with}`` or ``{requirement}`` mapping into a callable.

        Raises:
            CheckSpecError: naming the problem and where in the spec it is.
        """
        if not isinstance(spec, Mapping):
            raise CheckSpecError(_("a check must be a mapping with 'check' and 'with', got {spec}")
                                 .format(spec=repr(spec)))
        data = dict(spec)
        data.pop("label", None)
        data.pop("description", None)
        if "requirement" in data:
            return self._reference(data, scope, _seen)
        name = data.get("check")
        if not isinstance(name, str):
            raise CheckSpecError(_("a requirement needs 'check: NAME' or 'requirement: NAME'"))
        extra = set(data) - {"check", "with"}
        if extra:
            key = sorted(extra)[0]
            raise CheckSpecError(_("unknown key '{key}' in a check").format(key=key), (key,))
        params = data.get("with")
        if name in COMBINATORS:
            return self._combinator(name, params, scope, _seen)
        kind = self.types.get(name)
        if kind is None:
            raise CheckSpecError(
                _("unknown check '{name}'{suggestion}").format(
                    name=name, suggestion=suggest(name, self.names)), ("check",)
            )
        return self._leaf(kind, params, scope)

    def _reference(self, data: dict[str, Any], scope: CompileScope, seen: tuple[str, ...]) -> Compiled:
        ref = data["requirement"]
        if not isinstance(ref, str):
            raise CheckSpecError(_("'requirement:' takes the name of a declared requirement"),
                                 ("requirement",))
        if set(data) != {"requirement"}:
            raise CheckSpecError(_("'requirement:' stands alone in a check item"))
        if ref not in scope.requirements:
            raise CheckSpecError(
                _("unknown requirement '{name}'{suggestion}").format(
                    name=ref, suggestion=suggest(str(ref), scope.requirements)),
                ("requirement",),
            )
        if ref in seen:
            if len(seen) == 1 or seen[-1] == ref:
                message = _("requirement '{name}' refers to itself").format(name=ref)
            else:
                cycle = " -> ".join((*seen[seen.index(ref):], ref))
                message = _("requirement '{name}' is in a cycle ({cycle})").format(name=ref, cycle=cycle)
            raise CheckSpecError(message, ("requirement",))
        return self.compile(scope.requirements[ref], scope, (*seen, ref))

    def _combinator(self, name: str, params: Any, scope: CompileScope, seen: tuple[str, ...]) -> Compiled:
        items = [params] if name == "not" and isinstance(params, Mapping) else params
        if not isinstance(items, list) or not items:
            raise CheckSpecError(_("check '{name}' takes a non-empty list of checks in 'with'")
                                 .format(name=name), ("with",))
        if name == "not" and len(items) != 1:
            raise CheckSpecError(_("check 'not' takes exactly one check"), ("with",))
        children = []
        for i, item in enumerate(items):
            try:
                children.append(self.compile(item, scope, seen))
            except CheckSpecError as err:
                raise CheckSpecError(str(err), ("with", i, *err.path)) from None
        reads: frozenset[str] | None = frozenset()
        for child in children:
            child_reads = check_reads(child)
            reads = None if reads is None or child_reads is None else reads | child_reads
        return _with_reads(_COMBINE[name](children), reads)

    def _leaf(self, kind: CheckType, params: Any, scope: CompileScope) -> Compiled:
        try:
            parsed: Any = kind.params.model_validate(params if params is not None else {})
        except ValidationError as err:
            first = err.errors()[0]
            loc = tuple(first["loc"])
            message = pydantic_message(first).removeprefix("Value error, ")
            if loc:
                text = _("check '{name}' '{key}': {message}").format(
                    name=kind.name, key=loc[0], message=message)
            else:
                text = _("check '{name}': {message}").format(name=kind.name, message=message)
            raise CheckSpecError(text, ("with", *loc)) from None
        fact = getattr(parsed, "name", None) if kind.name == "fact" else None
        if fact is not None:
            declared = scope.facts.get(fact)
            if declared is None:
                raise CheckSpecError(
                    _("fact '{name}' is not declared under facts:{suggestion}").format(
                        name=fact, suggestion=suggest(fact, scope.facts)),
                    ("with", "name"),
                )
            parsed._label = getattr(declared, "label", None)
        milestone = getattr(parsed, "milestone", None) if kind.name in ("before", "after") else None
        if milestone is not None:
            if milestone not in scope.milestones:
                raise CheckSpecError(
                    _("unknown milestone '{name}'{suggestion}").format(
                        name=milestone, suggestion=suggest(milestone, scope.milestones)),
                    ("with", "milestone"),
                )
            parsed._label = scope.milestone_labels.get(milestone)
        param = (getattr(parsed, "param", None) if kind.name in ("before", "after")
                 else getattr(parsed, "since", None) if kind.name == "document" else None)
        if param is not None and scope.params is not None:
            declared = scope.params.get(param)
            if declared is None or declared.type != "date":
                what = (_("param '{name}' is not declared under params:{suggestion}")
                        if declared is None else
                        _("param '{name}' is not of type date{suggestion}"))
                raise CheckSpecError(what.format(name=param, suggestion=suggest(param, scope.params)),
                                     ("with", "param"))
            label = getattr(declared, "label", None)
            if kind.name == "document":
                parsed._since_label = label
            else:
                parsed._label = label
        if kind.name == "case":
            parsed._states = scope.state_labels.get(parsed.workflow, {})
        if kind.name == "record":
            parsed = _bind_record(parsed, scope)
        if isinstance(parsed, _NetworkParams):
            _bind_facts(parsed, scope)
        # partial, not a lambda: one Python frame less on every evaluation (the report makes
        # some 10^5 of them).
        return _with_reads(partial(kind.evaluate, parsed),
                           None if kind.reads is None else kind.reads(parsed))


def _bind_facts(p: _NetworkParams, scope: CompileScope) -> None:
    """The facts a network check falls back to must be declared; their labels name them."""
    for name in p.fact_names():
        declared = scope.facts.get(name)
        if declared is None:
            raise CheckSpecError(_("fact '{name}' is not declared under facts:{suggestion}").format(
                name=name, suggestion=suggest(name, scope.facts)), ("with",))
        if getattr(declared, "label", None):
            p._labels[name] = declared.label


def _bind_record(p: Any, scope: CompileScope) -> Any:
    """A record check must name a declared kind, its fields, and values those fields can hold.

    Returns:
        The parameters with `where`/`each` values in their stored form (dates as ISO text).
    """
    spec = scope.records.get(p.kind)
    if spec is None:
        raise CheckSpecError(_("record kind '{kind}' is not declared under records:{suggestion}")
                             .format(kind=p.kind, suggestion=suggest(p.kind, scope.records)),
                             ("with", "kind"))
    if p.date_field is not None and p.date_field not in spec.date_fields():
        raise CheckSpecError(_("record kind '{kind}' has no date field '{field}'{suggestion}").format(
            kind=p.kind, field=p.date_field, suggestion=suggest(p.date_field, spec.date_fields())),
            ("with", "date_field"))
    update: dict[str, Any] = {}
    for key in ("where", "each"):
        stored: dict[str, tuple[Any, ...]] = {}
        for name, values in (getattr(p, key) or {}).items():
            field_def = spec.fields.get(name)
            if field_def is None:
                raise CheckSpecError(_("record kind '{kind}' has no field '{field}'{suggestion}").format(
                    kind=p.kind, field=name, suggestion=suggest(str(name), spec.fields)),
                    ("with", key, name))
            try:
                stored[name] = tuple(_flat(coerce_field(name, field_def, v, None)) for v in values)
            except ValueError as err:
                raise CheckSpecError(_("check 'record' '{key}': {message}").format(
                    key=key, message=err), ("with", key, name)) from None
        if stored:
            update[key] = stored
    bound = p.model_copy(update=update)
    bound._numeric = frozenset(name for name, f in spec.fields.items() if f.type == "decimal")
    bound._labels = {name: f.label for name, f in spec.fields.items() if getattr(f, "label", None)}
    return bound


def _flat(value: Any) -> Any:
    """A list field's value given as one item stays that item."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _all(children: list[Compiled]) -> Compiled:
    def run(ctx: RegionContext) -> CheckResult:
        results = [c(ctx) for c in children]
        failed = [r for r in results if not r.passed]
        shown = failed or results
        return CheckResult(not failed, lambda: "; ".join(r.detail for r in shown))

    return run


def _none_of(failed: list[CheckResult]) -> str:
    """One sentence for failures that are alike ("no profession group or union as partner"),
    the others as they are; "none of: ..." when more than one sentence remains."""
    sentences: list[str | list[CheckResult]] = []
    groups: dict[Hashable, list[CheckResult]] = {}
    for result in failed:
        if result.alike is None:
            sentences.append(result.detail)
        elif result.alike.key in groups:
            groups[result.alike.key].append(result)
        else:
            groups[result.alike.key] = [result]
            sentences.append(groups[result.alike.key])
    said = []
    for item in sentences:
        if isinstance(item, str):
            said.append(item)
        elif len(item) == 1:
            said.append(item[0].detail)
        else:
            alike = item[0].alike
            assert alike is not None
            names = list(dict.fromkeys(n for r in item if r.alike for n in r.alike.items()))
            said.append(alike.sentence(join_or(names)))
    if len(said) == 1:
        return said[0]
    return _("none of: {details}").format(details="; ".join(said))


def _any(children: list[Compiled]) -> Compiled:
    def run(ctx: RegionContext) -> CheckResult:
        failed = []
        for child in children:
            result = child(ctx)
            if result.passed:
                return result
            failed.append(result)
        return CheckResult(False, lambda: _none_of(failed))

    return run


def _not(children: list[Compiled]) -> Compiled:
    (child,) = children

    def run(ctx: RegionContext) -> CheckResult:
        result = child(ctx)
        if result.passed:
            return CheckResult(False, lambda: _("must not hold: {detail}").format(detail=result.detail))
        return CheckResult(True, lambda: _("does not hold, as required: {detail}").format(
            detail=result.detail))

    return run


_COMBINE: dict[str, Callable[[list[Compiled]], Compiled]] = {"all": _all, "any": _any, "not": _not}


def _entry_point_checks() -> dict[str, CheckType]:
    from importlib.metadata import entry_points

    found: dict[str, CheckType] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()
        if not isinstance(loaded, CheckType):
            raise TypeError(_("entry point {name} in {group} is not a CheckType").format(
                name=ep.name, group=ENTRY_POINT_GROUP))
        found[loaded.name] = loaded
    return found
