"""Requirement checks: the built-ins of design §3 and the plug-in registry.

A check is a named function over a :class:`RegionContext` with a pydantic model for its
``with:`` parameters. It returns pass/fail *and* one sentence of what it found, because
"refused" alone helps nobody. Specs are compiled once, when a workflow loads, into plain
callables; so a workflow that loads cannot fail on a check at runtime.

Plug-ins register more checks through the entry-point group ``onderwijsflow.checks``; each
entry point names a :class:`CheckType` (see :func:`check_type`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from onderwijsflow.definition.durations import Duration
from onderwijsflow.definition.records import coerce_field, field_matches
from onderwijsflow.engine.context import DocumentInfo, RegionContext
from onderwijsflow.vocabulary import (
    DOCUMENT_KINDS,
    PARTNER_KINDS,
    REGION_ROLES,
    SECTORS,
    require_member,
    suggest,
)

ENTRY_POINT_GROUP = "onderwijsflow.checks"


class CheckResult:
    """The outcome of one check: passed or not, and one sentence of what was found.

    `detail` may be given as a zero-argument callable: the sentence is then built only when
    someone reads it. A refusal always reads it; bulk work (the national report, which only
    counts what passes) mostly does not, and formatting sentences is most of a check's cost.
    """

    __slots__ = ("_detail", "passed")

    def __init__(self, passed: bool, detail: str | Callable[[], str]) -> None:
        self.passed = passed
        self._detail = detail

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
    """A registered check: its name, parameter model and evaluation function."""

    name: str
    params: type[BaseModel]
    evaluate: Callable[[Any, RegionContext], CheckResult]


def check_type(name: str, params: type[BaseModel]) -> Callable[[Callable[..., CheckResult]], CheckType]:
    """Decorator that turns ``evaluate(params, ctx)`` into a :class:`CheckType`."""

    def wrap(func: Callable[..., CheckResult]) -> CheckType:
        return CheckType(name=name, params=params, evaluate=func)

    return wrap


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _member(kind: str, choices: tuple[str, ...]) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if value is not None and (problem := require_member(kind, value, choices)):
            raise ValueError(problem)
        return value

    return validate


# --- built-in checks -------------------------------------------------------------------


class PartnerParams(_Params):
    kind: str
    sector: str | None = None
    min: int = Field(default=1, ge=1)

    _kind = field_validator("kind")(lambda v: _member("partner kind", PARTNER_KINDS)(v))
    _sector = field_validator("sector")(lambda v: _member("sector", SECTORS)(v))


@check_type("partner", PartnerParams)
def _partner(p: PartnerParams, ctx: RegionContext) -> CheckResult:
    found = sum(
        1 for x in ctx.partners if x.kind == p.kind and (p.sector is None or x.sector == p.sector)
    )
    return CheckResult(found >= p.min, lambda: (
        f"{p.min} {p.kind} partner" + (f" ({p.sector})" if p.sector else "")
        + f" needed, {found} found"
    ))


class RoleParams(_Params):
    role: tuple[str, ...]
    min: int = Field(default=1, ge=1)

    @field_validator("role", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(r, str) for r in value):
            raise ValueError("role must be a role name or a list of role names")
        roles = tuple(value)
        for role in roles:
            _member("role", REGION_ROLES)(role)
        return roles


@check_type("role", RoleParams)
def _role(p: RoleParams, ctx: RegionContext) -> CheckResult:
    holders: dict[str, list[str]] = {}
    for r in ctx.roles:
        if r.role in p.role:
            holders.setdefault(r.person, []).append(r.role)

    def detail() -> str:
        found = ", ".join(f"{person} ({'/'.join(roles)})" for person, roles in sorted(holders.items()))
        return f"{p.min} {' or '.join(p.role)} needed, found: {found or 'none'}"

    return CheckResult(len(holders) >= p.min, detail)


class DocumentParams(_Params):
    kind: str
    min: int = Field(default=1, ge=1)
    since: str | None = None  # a date parameter of the case: only documents from that day on

    _kind = field_validator("kind")(lambda v: _member("document kind", DOCUMENT_KINDS)(v))


def _document_day(d: DocumentInfo) -> date | None:
    """A document's date, else the local day it was recorded."""
    if d.date is not None or d.added is None:
        return d.date
    from onderwijsflow.clock import to_local

    return to_local(d.added).date()


@check_type("document", DocumentParams)
def _document(p: DocumentParams, ctx: RegionContext) -> CheckResult:
    found = [d for d in ctx.documents if d.kind == p.kind]
    since = None
    if p.since is not None:
        raw = ctx.params.get(p.since)
        since = date.fromisoformat(raw) if isinstance(raw, str) else raw
        found = [d for d in found if since is not None and (day := _document_day(d)) is not None
                 and day >= since]

    def detail() -> str:
        titles = "; ".join(f"'{d.title}'" for d in found[:3])
        when = f" dated {since.isoformat()} or later" if since is not None else ""
        return (f"{p.min} {p.kind} document{when} needed, {len(found)} found"
                + (f": {titles}" if titles else ""))

    return CheckResult(len(found) >= p.min, detail)


class FactParams(_Params):
    name: str
    set: bool | None = None
    equals: Any = None
    min: Decimal | date | None = None
    max: Decimal | date | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FactParams:
        given = [k for k in ("set", "equals", "min", "max") if getattr(self, k) is not None]
        if not given:
            raise ValueError("a fact check needs one of set, equals, min or max")
        if len(given) > 1 and set(given) != {"min", "max"}:
            raise ValueError(f"a fact check takes one of set, equals, min/max, not {given}")
        return self


def _equal(value: Any, wanted: Any) -> bool:
    """`value == wanted`, except that YAML's floats meet decimal facts by their written value.

    ``Decimal("0.1") == 0.1`` is False in Python (the float is not exactly 0.1), while a
    workflow saying ``equals: 0.1`` means the decimal 0.1.
    """
    if isinstance(value, Decimal) and isinstance(wanted, float):
        return value == Decimal(repr(wanted))
    return bool(value == wanted)


def _show(value: Any) -> str:
    return "not set" if value is None else repr(value) if isinstance(value, str) else str(value)


@check_type("fact", FactParams)
def _fact(p: FactParams, ctx: RegionContext) -> CheckResult:
    value: Any = ctx.facts.get(p.name)
    if p.set is not None:
        present = value is not None
        want = "set" if p.set else "not set"
        return CheckResult(present == p.set, f"{p.name} must be {want}, is {_show(value)}")
    if p.equals is not None:
        return CheckResult(
            _equal(value, p.equals), f"{p.name} must be {p.equals!r}, is {_show(value)}"
        )
    ok = value is not None
    try:
        if ok and p.min is not None:
            ok = value >= p.min
        if ok and p.max is not None:
            ok = value <= p.max
    except TypeError:
        ok = False

    def detail() -> str:
        bounds = " and ".join(
            s for s in (f"at least {p.min}" if p.min is not None else "",
                        f"at most {p.max}" if p.max is not None else "") if s
        )
        return f"{p.name} must be {bounds}, is {_show(value)}"

    return CheckResult(ok, detail)


class CaseParams(_Params):
    workflow: str
    state: tuple[str, ...]
    round: str | None = None

    @field_validator("round", mode="before")
    @classmethod
    def _round(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("state", mode="before")
    @classmethod
    def _states(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


@check_type("case", CaseParams)
def _case(p: CaseParams, ctx: RegionContext) -> CheckResult:
    if p.round is not None:
        state = ctx.rounds.get(p.workflow, {}).get(p.round)
        states = [state] if state is not None else []
        which = f"a {p.workflow} case of round {p.round}"
    else:
        states = ctx.cases.get(p.workflow, [])
        which = f"a {p.workflow} case"
    wanted = " or ".join(p.state)
    found = ", ".join(states) if states else "no case"
    return CheckResult(any(s in p.state for s in states), f"{which} in {wanted} needed, found: {found}")


class MomentParams(_Params):
    milestone: str | None = None
    date: datetime | None = None
    param: str | None = None
    time: dt_time | None = None
    offset: Duration | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if value is None or isinstance(value, str | dt_time):
            return value
        raise ValueError(f"expected a time such as \"09:00\", got {value!r}")

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
            raise ValueError("give exactly one of milestone, date or param")
        if self.time is not None and self.param is None:
            raise ValueError("time is only used with param (a date parameter of the case)")
        return self


def _moment(p: MomentParams, ctx: RegionContext) -> tuple[datetime | None, str]:
    if p.param is not None:
        from onderwijsflow.clock import END_OF_DAY, local_moment

        raw = ctx.params.get(p.param)
        day = date.fromisoformat(raw) if isinstance(raw, str) else raw
        moment = local_moment(day, p.time or END_OF_DAY) if isinstance(day, date) else None
        what = p.param
    else:
        moment = ctx.milestones.get(p.milestone) if p.milestone else p.date
        what = f"milestone {p.milestone}" if p.milestone else "the date"
    if moment is not None and p.offset is not None:
        moment = p.offset.add_to(moment)  # type: ignore[assignment]
        what = f"{p.offset} after {what}"
    return moment, what


def _when(moment: datetime) -> str:
    from onderwijsflow.clock import iso_local

    return iso_local(moment) or ""


@check_type("before", MomentParams)
def _before(p: MomentParams, ctx: RegionContext) -> CheckResult:
    moment, what = _moment(p, ctx)
    if moment is None:
        return CheckResult(False, f"{what} has no date for this case")
    return CheckResult(ctx.now < moment, f"must be before {what} ({_when(moment)})")


@check_type("after", MomentParams)
def _after(p: MomentParams, ctx: RegionContext) -> CheckResult:
    moment, what = _moment(p, ctx)
    if moment is None:
        return CheckResult(False, f"{what} has no date for this case")
    return CheckResult(ctx.now >= moment, f"must be on or after {what} ({_when(moment)})")


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

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, value: Any) -> Any:
        if value is None or isinstance(value, Duration):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO 8601 duration such as P6M, got {value!r}")
        return Duration.parse(value)

    @field_validator("where", "each", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        if not isinstance(value, Mapping) or not value:
            raise ValueError("expected a mapping of field: value or [values]")
        out = {k: tuple(v) if isinstance(v, list | tuple) else (v,) for k, v in value.items()}
        if empty := [k for k, v in out.items() if not v]:
            raise ValueError(f"field '{empty[0]}' needs at least one value")
        return out

    @model_validator(mode="after")
    def _consistent(self) -> RecordParams:
        if self.date_field is not None and self.within is None:
            raise ValueError("date_field is only used with within")
        if self.each is not None and len(self.each) != 1:
            raise ValueError("each takes exactly one field with its values")
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


@check_type("record", RecordParams)
def _record(p: RecordParams, ctx: RegionContext) -> CheckResult:
    found = ctx.records_of(p.kind)
    numeric = p._numeric
    for name, wanted in (p.where or {}).items():
        found = [r for r in found
                 if field_matches(r.fields.get(name), wanted, numeric=name in numeric)]
    what = p.kind + "".join(f" with {k} {', '.join(map(str, v))}" for k, v in (p.where or {}).items())
    if p.each is not None:
        ((name, values),) = p.each.items()
        counts = _value_counts(found, name, values, name in numeric)
        short = [v for v in values if counts.get(v, 0) < p.min]
        return CheckResult(not short, lambda: (
            f"no {what} for {name} {', '.join(map(str, short))}" if short and p.min == 1
            else f"fewer than {p.min} {what} for {name} {', '.join(map(str, short))}" if short
            else f"every {name} has {what}"))
    if p.within is None:
        return CheckResult(len(found) >= p.min, lambda: f"{p.min} {what} needed, {len(found)} found")
    from onderwijsflow.clock import to_local

    today = to_local(ctx.now).date()
    since = p.within.before(today)
    days = sorted(d for d in (_record_day(r, p.date_field) for r in found) if d and d <= today)
    recent = [d for d in days if d >= since]

    def detail() -> str:
        last = f" (the last on {days[-1].isoformat()})" if days else " (none recorded)"
        if not recent and p.min == 1:
            return f"no {what} since {since.isoformat()}{last}"
        return f"{p.min} {what} needed since {since.isoformat()}, {len(recent)} found{last}"

    return CheckResult(len(recent) >= p.min, detail)


BUILTIN: dict[str, CheckType] = {
    c.name: c for c in (_partner, _role, _document, _fact, _case, _before, _after, _record)
}
COMBINATORS = ("all", "any", "not")


# --- compiling specs ---------------------------------------------------------------------


@dataclass(frozen=True)
class CompileScope:
    """What a spec may refer to: the workflow's facts, milestones, requirements and records."""

    facts: Mapping[str, Any]
    milestones: frozenset[str]
    requirements: Mapping[str, Any]
    records: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None  # None: not checked (a check compiled on its own)


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

    def compile(self, spec: Any, scope: CompileScope, _seen: tuple[str, ...] = ()) -> Compiled:
        """Compile a ``{check, with}`` or ``{requirement}`` mapping into a callable.

        Raises:
            CheckSpecError: naming the problem and where in the spec it is.
        """
        if not isinstance(spec, Mapping):
            raise CheckSpecError(f"a check must be a mapping with 'check' and 'with', got {spec!r}")
        data = dict(spec)
        data.pop("label", None)
        data.pop("description", None)
        if "requirement" in data:
            return self._reference(data, scope, _seen)
        name = data.get("check")
        if not isinstance(name, str):
            raise CheckSpecError("a requirement needs 'check: NAME' or 'requirement: NAME'")
        extra = set(data) - {"check", "with"}
        if extra:
            raise CheckSpecError(f"unknown key '{sorted(extra)[0]}' in a check", (sorted(extra)[0],))
        params = data.get("with")
        if name in COMBINATORS:
            return self._combinator(name, params, scope, _seen)
        kind = self.types.get(name)
        if kind is None:
            raise CheckSpecError(
                f"unknown check '{name}'{suggest(name, self.names)}", ("check",)
            )
        return self._leaf(kind, params, scope)

    def _reference(self, data: dict[str, Any], scope: CompileScope, seen: tuple[str, ...]) -> Compiled:
        ref = data["requirement"]
        if not isinstance(ref, str):
            raise CheckSpecError("'requirement:' takes the name of a declared requirement",
                                 ("requirement",))
        if set(data) != {"requirement"}:
            raise CheckSpecError("'requirement:' stands alone in a check item")
        if ref not in scope.requirements:
            raise CheckSpecError(
                f"unknown requirement '{ref}'{suggest(str(ref), scope.requirements)}",
                ("requirement",),
            )
        if ref in seen:
            cycle = " -> ".join((*seen[seen.index(ref):], ref))
            what = "refers to itself" if len(seen) == 1 or seen[-1] == ref else f"is in a cycle ({cycle})"
            raise CheckSpecError(f"requirement '{ref}' {what}", ("requirement",))
        return self.compile(scope.requirements[ref], scope, (*seen, ref))

    def _combinator(self, name: str, params: Any, scope: CompileScope, seen: tuple[str, ...]) -> Compiled:
        items = [params] if name == "not" and isinstance(params, Mapping) else params
        if not isinstance(items, list) or not items:
            raise CheckSpecError(f"check '{name}' takes a non-empty list of checks in 'with'", ("with",))
        if name == "not" and len(items) != 1:
            raise CheckSpecError("check 'not' takes exactly one check", ("with",))
        children = []
        for i, item in enumerate(items):
            try:
                children.append(self.compile(item, scope, seen))
            except CheckSpecError as err:
                raise CheckSpecError(str(err), ("with", i, *err.path)) from None
        return _COMBINE[name](children)

    def _leaf(self, kind: CheckType, params: Any, scope: CompileScope) -> Compiled:
        try:
            parsed = kind.params.model_validate(params if params is not None else {})
        except ValidationError as err:
            first = err.errors()[0]
            loc = tuple(first["loc"])
            msg = first["msg"].removeprefix("Value error, ")
            where = f" '{loc[0]}'" if loc else ""
            raise CheckSpecError(f"check '{kind.name}'{where}: {msg}", ("with", *loc)) from None
        fact = getattr(parsed, "name", None) if kind.name == "fact" else None
        if fact is not None and fact not in scope.facts:
            raise CheckSpecError(
                f"fact '{fact}' is not declared under facts:{suggest(fact, scope.facts)}",
                ("with", "name"),
            )
        milestone = getattr(parsed, "milestone", None) if kind.name in ("before", "after") else None
        if milestone is not None and milestone not in scope.milestones:
            raise CheckSpecError(
                f"unknown milestone '{milestone}'{suggest(milestone, scope.milestones)}",
                ("with", "milestone"),
            )
        param = (getattr(parsed, "param", None) if kind.name in ("before", "after")
                 else getattr(parsed, "since", None) if kind.name == "document" else None)
        if param is not None and scope.params is not None:
            declared = scope.params.get(param)
            if declared is None or declared.type != "date":
                what = "is not declared under params:" if declared is None else "is not of type date"
                raise CheckSpecError(f"param '{param}' {what}{suggest(param, scope.params)}",
                                     ("with", "param"))
        if kind.name == "record":
            parsed = _bind_record(parsed, scope)
        evaluate = kind.evaluate
        return lambda ctx: evaluate(parsed, ctx)


def _bind_record(p: Any, scope: CompileScope) -> Any:
    """A record check must name a declared kind, its fields, and values those fields can hold.

    Returns:
        The parameters with `where`/`each` values in their stored form (dates as ISO text).
    """
    spec = scope.records.get(p.kind)
    if spec is None:
        raise CheckSpecError(f"record kind '{p.kind}' is not declared under records:"
                             f"{suggest(p.kind, scope.records)}", ("with", "kind"))
    if p.date_field is not None and p.date_field not in spec.date_fields():
        raise CheckSpecError(f"record kind '{p.kind}' has no date field '{p.date_field}'"
                             f"{suggest(p.date_field, spec.date_fields())}", ("with", "date_field"))
    update: dict[str, Any] = {}
    for key in ("where", "each"):
        stored: dict[str, tuple[Any, ...]] = {}
        for name, values in (getattr(p, key) or {}).items():
            field_def = spec.fields.get(name)
            if field_def is None:
                raise CheckSpecError(f"record kind '{p.kind}' has no field '{name}'"
                                     f"{suggest(str(name), spec.fields)}", ("with", key, name))
            try:
                stored[name] = tuple(_flat(coerce_field(name, field_def, v, None)) for v in values)
            except ValueError as err:
                raise CheckSpecError(f"check 'record' '{key}': {err}", ("with", key, name)) from None
        if stored:
            update[key] = stored
    bound = p.model_copy(update=update)
    bound._numeric = frozenset(name for name, f in spec.fields.items() if f.type == "decimal")
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


def _any(children: list[Compiled]) -> Compiled:
    def run(ctx: RegionContext) -> CheckResult:
        failed = []
        for child in children:
            result = child(ctx)
            if result.passed:
                return result
            failed.append(result)
        return CheckResult(False, lambda: "none of: " + "; ".join(r.detail for r in failed))

    return run


def _not(children: list[Compiled]) -> Compiled:
    (child,) = children

    def run(ctx: RegionContext) -> CheckResult:
        result = child(ctx)
        return CheckResult(not result.passed, lambda: f"must not hold: {result.detail}")

    return run


_COMBINE: dict[str, Callable[[list[Compiled]], Compiled]] = {"all": _all, "any": _any, "not": _not}


def _entry_point_checks() -> dict[str, CheckType]:
    from importlib.metadata import entry_points

    found: dict[str, CheckType] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()
        if not isinstance(loaded, CheckType):
            raise TypeError(f"entry point {ep.name} in {ENTRY_POINT_GROUP} is not a CheckType")
        found[loaded.name] = loaded
    return found
