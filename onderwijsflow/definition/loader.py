"""Load workflow files: YAML with line numbers, the rules of design §3, requirements compiled.

A file is read in three passes. The YAML pass keeps the line of every mapping key and
sequence item (and refuses duplicate keys, which YAML would silently drop). The shape pass
validates the pydantic models of :mod:`onderwijsflow.definition.model`. The rules pass
relates the parts: states, triggers, requirements, roles, milestones. Every problem reads
``FILE:LINE: sentence naming the offending thing``; all problems of a file are collected and
raised as one :class:`~onderwijsflow.errors.DefinitionError`. A workflow that loads is valid.

The language does not know the checks: requirements are compiled by the
:class:`RequirementCompiler` the caller passes (the engine's check registry;
:mod:`onderwijsflow.engine.loading` passes it for you), and without one they are not compiled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from onderwijsflow.definition.model import (
    BodyDef,
    DecisionDef,
    DueDef,
    FactDef,
    FieldDef,
    MetByDef,
    MigrationDef,
    MilestoneDef,
    OverdueAction,
    ParamDef,
    RecordDef,
    RequirementDef,
    StateDef,
    TransitionDef,
    WorkflowDef,
    coerce_value,
    pydantic_message,
)
from onderwijsflow.errors import DefinitionError
from onderwijsflow.i18n import N_, _, ngettext
from onderwijsflow.vocabulary import (
    ACTOR_ROLES,
    DOCUMENT_KINDS,
    NOTIFY_TARGETS,
    require_member,
    suggest,
)
from onderwijsflow.yamlsafe import Parsed as _Parsed
from onderwijsflow.yamlsafe import YamlProblem as _YamlProblem
from onderwijsflow.yamlsafe import parse as _parse
from onderwijsflow.yamlsafe import read_limited

__all__ = ["LoadedWorkflow", "load_directory", "load_workflow_file", "load_workflow_text"]

Path_ = tuple[Any, ...]

# --- YAML: read by onderwijsflow.yamlsafe (limits, lines, duplicate keys) ------------------


# --- reporting -----------------------------------------------------------------------------


class _Report:
    """Collects ``FILE:LINE: message`` problems and warnings for one file."""

    def __init__(self, parsed: _Parsed, file: str) -> None:
        self.parsed = parsed
        self.file = file
        self.problems: list[tuple[int, str]] = []
        self.warnings: list[tuple[int, str]] = []

    def line_of(self, path: Path_) -> int:
        return self.parsed.line_of(path)

    def error(self, path: Path_, message: str) -> None:
        self.error_at(self.line_of(path), message)

    def error_at(self, line: int, message: str) -> None:
        self.problems.append((line, f"{self.file}:{line}: {message}"))

    def warn(self, path: Path_, message: str) -> None:
        line = self.line_of(path)
        self.warnings.append((line, f"{self.file}:{line}: {message}"))

    def sorted_problems(self) -> list[str]:
        return [text for _, text in sorted(self.problems, key=lambda p: p[0])]

    def raise_if_any(self) -> None:
        if self.problems:
            raise _error(self.sorted_problems())


def _error(problems: list[str]) -> DefinitionError:
    more = len(problems) - 1
    message = problems[0]
    if more:
        message += ngettext(" (and {n} more problem)", " (and {n} more problems)", more).format(n=more)
    return DefinitionError(message, problems=problems)


#: A named part of a workflow as a person reads it, by the section it is declared in.
_NAMED = {"states": N_("state '{name}'"), "requirements": N_("requirement '{name}'"),
          "params": N_("param '{name}'"), "facts": N_("fact '{name}'"),
          "records": N_("record '{name}'"), "bodies": N_("body '{name}'")}
#: A listed part: how it reads ({name} is 'its name', a version or #N) and its naming key.
_LISTED = {"transitions": (N_("transition {name}"), "trigger"),
           "milestones": (N_("milestone {name}"), "name"),
           "migrates_from": (N_("migration from version {name}"), "version")}


def _describe(path: Path_, data: Any) -> tuple[str, Path_]:
    """Name the thing `path` lies in ("state 'x'", "transition 'dien_in'") and the rest."""
    if len(path) < 2 or path[0] not in {**_NAMED, **_LISTED}:
        return "", path
    head, key = path[0], path[1]
    if head in _NAMED:
        return _(_NAMED[head]).format(name=key), path[2:]
    kind, name_key = _LISTED[head]
    item = data.get(head) if isinstance(data, dict) else None
    item = item[key] if isinstance(item, list) and isinstance(key, int) else None
    name = item.get(name_key) if isinstance(item, dict) else None
    label = (f"'{name}'" if isinstance(name, str) else str(name) if isinstance(name, int)
             and not isinstance(name, bool) else f"#{key + 1}" if isinstance(key, int) else key)
    return _(kind).format(name=label), path[2:]


def _within(rest: Path_, entity: str) -> str:
    """" in 'due.time' of milestone 'x'", " in 'due.time'", " in milestone 'x'" or ""."""
    key = ".".join(map(str, rest))
    if rest and entity:
        return _(" in '{key}' of {entity}").format(key=key, entity=entity)
    if rest:
        return _(" in '{key}'").format(key=key)
    return _(" in {entity}").format(entity=entity) if entity else ""


def _report_duplicates(parsed: _Parsed, report: _Report) -> None:
    for path, node in parsed.containers():
        for key, line, first in parsed.duplicates.get(id(node), []):
            if len(path) == 1 and path[0] in _NAMED:
                message = _("duplicate {item} (first at line {first})").format(
                    item=_(_NAMED[path[0]]).format(name=key), first=first)
            else:
                entity, rest = _describe(path, parsed.data)
                message = _("duplicate key '{key}'{where} (first at line {first})").format(
                    key=key, where=_within(rest, entity), first=first)
            report.error_at(line, message)


# --- shape: pydantic errors in one sentence each --------------------------------------------

_MODELS: dict[str, type[BaseModel]] = {
    "states": StateDef, "transitions": TransitionDef, "milestones": MilestoneDef,
    "requirements": RequirementDef, "params": ParamDef, "facts": FactDef,
    "records": RecordDef, "bodies": BodyDef, "migrates_from": MigrationDef,
}
_NESTED: dict[str, type[BaseModel]] = {"due": DueDef, "on_overdue": OverdueAction,
                                       "decision": DecisionDef, "met_by": MetByDef}
_EXPECTED = (
    ("date", N_("a date YYYY-MM-DD")), ("time", N_("a time such as \"16:00\"")),
    ("string_pattern", N_("a slug of lower-case letters, digits, '-' and '_'")),
    ("string", N_("text")), ("int", N_("a whole number")), ("bool", N_("true or false")),
    ("tuple", N_("a list")), ("list", N_("a list")), ("dict", N_("a mapping")),
    ("model", N_("a mapping")),
)


def _validate_shape(parsed: _Parsed, report: _Report) -> WorkflowDef | None:
    if not isinstance(parsed.data, dict):
        report.error_at(1, _("the file is empty; a workflow has keys workflow:, version:, title:, "
                             "initial: and states:") if parsed.data is None else
                        _("the file is not a mapping of keys; a workflow has keys workflow:, "
                          "version:, title:, initial: and states:"))
        return None
    try:
        return WorkflowDef.model_validate(parsed.data)
    except ValidationError as err:
        for path, message in _shape_problems(err, parsed.data):
            report.error(path, message)
        return None


def _shape_problems(err: ValidationError, data: Any) -> list[tuple[Path_, str]]:
    cleaned = [(e, *_clean_loc(e["loc"], data, e["type"] == "missing")) for e in err.errors()]
    fitting = [(e, path) for e, path, fits in cleaned if fits] or [(e, p) for e, p, _ in cleaned]
    found: dict[str, Path_] = {}
    for e, path in fitting:
        found.setdefault(_shape_message(e, path, data), path)
    return [(path, message) for message, path in found.items()]


def _clean_loc(loc: tuple[Any, ...], data: Any, missing: bool) -> tuple[Path_, bool]:
    """Drop union-branch tags from a pydantic `loc`; tell whether that branch fits the input.

    A tag is a name that is not a key of the input ('DueDef', 'date'), except the last step
    of a missing key. The branch fits when a mapping met a model, or anything else a non-model.
    """
    node, path, fits = data, [], True
    for i, step in enumerate(loc):
        if _has(node, step):
            path.append(step)
            node = node[step]
        elif not isinstance(step, str) or step == "[key]" or (missing and i == len(loc) - 1):
            path.append(step)
        else:
            fits = fits and isinstance(node, dict) == step[:1].isupper()
    return tuple(path), fits


def _has(node: Any, step: Any) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)


def _shape_message(e: Any, path: Path_, data: Any) -> str:
    entity, rest = _describe(path, data)
    if e["type"] == "extra_forbidden":
        key = str(rest[-1])
        return _("unknown key '{key}'{where}{suggestion}").format(
            key=key, where=_within(rest[:-1], entity), suggestion=suggest(key, _keys(path[:-1])))
    if e["type"] == "missing":
        return _("missing required key '{key}'{where}").format(
            key=rest[-1], where=_within(rest[:-1], entity))
    if rest[-1:] == ("[key]",):
        message = (_("invalid {item}: a name must be text, not {value}") if entity
                   else _("invalid key: a name must be text, not {value}"))
        return message.format(item=entity, value=_show(e["input"]))
    if not rest:
        return _("invalid {item}: {problem}").format(item=entity, problem=_detail(e))
    return _("invalid value for '{key}'{where}: {problem}").format(
        key=".".join(map(str, rest)), where=_within((), entity), problem=_detail(e))


def _keys(path: Path_) -> list[str]:
    """The keys allowed in the mapping at `path`, for "did you mean" suggestions."""
    model: type[BaseModel] | None = WorkflowDef
    if path:
        model = _MODELS.get(path[0]) if len(path) >= 2 else None
        rest = list(path[2:])
        while rest and model is not None:
            step = rest.pop(0)
            if step == "fields" and model is RecordDef and rest:  # fields: {NAME: {...}}
                rest.pop(0)
                model = FieldDef
            else:
                model = _NESTED.get(step)
    return [f.alias or name for name, f in model.model_fields.items()] if model else []


def _detail(e: Any) -> str:
    """What is wrong with a value, from a pydantic error: "expected ..., got ..." for a value
    of the wrong kind, else pydantic's message (translated where :func:`pydantic_message` can)."""
    kind: str = e["type"]
    msg: str = e["msg"]
    if kind in {"value_error", "assertion_error"}:
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    got = _show(e.get("input"))
    for prefix, expected in _EXPECTED:
        if kind.startswith(prefix):
            return _("expected {expected}, got {value}").format(expected=_(expected), value=got)
    problem = pydantic_message(e)
    return _("{problem} (got {value})").format(problem=f"{problem[:1].lower()}{problem[1:]}",
                                               value=got)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- rules: how the parts relate ------------------------------------------------------------


def _check_rules(defn: WorkflowDef, report: _Report) -> WorkflowDef:
    """Check design §3's rules; return `defn` with every ``source: "*"`` spelled out."""
    if defn.initial not in defn.states:
        report.error(("initial",), _("initial state '{state}' is not declared under states:"
                                     "{suggestion}").format(
            state=defn.initial, suggestion=suggest(defn.initial, defn.states)))
    defn = _expand_wildcards(defn, report)
    defn = _expand_decision_documents(defn)
    _check_transitions(defn, report)
    _check_milestones(defn, report)
    _check_params(defn, report)
    _check_facts(defn, report)
    _check_records(defn, report)
    _check_decisions(defn, report)
    _check_migrations(defn, report)
    _warn_unreachable(defn, report)
    return defn


def _expand_wildcards(defn: WorkflowDef, report: _Report) -> WorkflowDef:
    open_states = tuple(name for name, state in defn.states.items() if not state.final)
    expanded = []
    for i, t in enumerate(defn.transitions):
        if "*" in t.source:
            if t.source != ("*",):
                report.error(("transitions", i, "source"), _(
                    "transition '{trigger}': source '*' (every non-final state) stands alone, "
                    "not in a list").format(trigger=t.trigger))
            t = t.model_copy(update={"source": open_states})
        expanded.append(t)
    return defn.model_copy(update={"transitions": tuple(expanded)})


def decision_requirement(kind: str) -> str:
    """The name of the requirement a transition with ``decision: {document: KIND}`` gains."""
    return f"besluit_{kind}"


def _expand_decision_documents(defn: WorkflowDef) -> WorkflowDef:
    """A decision's document is a requirement like any other, so that a refusal, `check`
    and the report name it: ``besluit_KIND`` ("the decision is recorded as a document")."""
    requirements = dict(defn.requirements)
    transitions = []
    for t in defn.transitions:
        kind = t.decision.document if t.decision else None
        if kind is not None and kind in DOCUMENT_KINDS:  # an unknown kind is reported once, below
            name = decision_requirement(kind)
            requirements.setdefault(name, RequirementDef.model_validate({
                "label": f"Het besluit is vastgelegd als document ({kind})",
                "check": "document", "with": {"kind": kind},
            }))
            if name not in t.requires:
                t = t.model_copy(update={"requires": (*t.requires, name)})
        transitions.append(t)
    return defn.model_copy(update={"requirements": requirements, "transitions": tuple(transitions)})


def _check_transitions(defn: WorkflowDef, report: _Report) -> None:
    first: dict[tuple[str, str], int] = {}
    for i, t in enumerate(defn.transitions):
        _check_ends(defn, t, ("transitions", i), report)
        for state in t.source:
            line = report.line_of(("transitions", i))
            if (t.trigger, state) in first:
                report.error_at(line, _("transition '{trigger}' from state '{state}' is declared "
                                        "twice (first at line {first})").format(
                    trigger=t.trigger, state=state, first=first[t.trigger, state]))
            first.setdefault((t.trigger, state), line)
        for j, name in enumerate(t.requires):
            if name not in defn.requirements:
                report.error(("transitions", i, "requires", j), _(
                    "transition '{trigger}' requires undeclared requirement '{name}'{suggestion}"
                ).format(trigger=t.trigger, name=name, suggestion=suggest(name, defn.requirements)))
        for j, role in enumerate(t.by or ()):
            if problem := require_member(N_("role"), role, ACTOR_ROLES):
                report.error(("transitions", i, "by", j), _("transition '{trigger}': {problem}")
                             .format(trigger=t.trigger, problem=problem))


def _check_ends(defn: WorkflowDef, t: TransitionDef, where: Path_, report: _Report) -> None:
    for j, state in enumerate(t.source):
        if state not in defn.states:
            report.error((*where, "source", j), _(
                "transition '{trigger}' comes from undeclared state '{state}'{suggestion}"
            ).format(trigger=t.trigger, state=state, suggestion=suggest(state, defn.states)))
        elif defn.states[state].final:
            report.error((*where, "source", j), _(
                "transition '{trigger}' leaves final state '{state}'; a final state has no "
                "outgoing transitions").format(trigger=t.trigger, state=state))
    if t.dest not in defn.states:
        report.error((*where, "dest"), _(
            "transition '{trigger}' goes to undeclared state '{state}'{suggestion}"
        ).format(trigger=t.trigger, state=t.dest, suggestion=suggest(t.dest, defn.states)))


def _check_milestones(defn: WorkflowDef, report: _Report) -> None:
    first: dict[str, int] = {}
    for i, m in enumerate(defn.milestones):
        where = ("milestones", i)
        if m.name in first:
            report.error((*where, "name"), _("duplicate {item} (first at line {first})").format(
                item=_("milestone {name}").format(name=f"'{m.name}'"), first=first[m.name]))
        first.setdefault(m.name, report.line_of((*where, "name")))
        _check_timing(defn, m, where, report)
        for j, state in enumerate(m.active_in):
            if state not in defn.states:
                report.error((*where, "active_in", j), _(
                    "milestone '{name}' is active in undeclared state '{state}'{suggestion}"
                ).format(name=m.name, state=state, suggestion=suggest(state, defn.states)))
        for j, target in enumerate(m.notify):
            if problem := require_member(N_("notify target"), target, NOTIFY_TARGETS):
                report.error((*where, "notify", j), _("milestone '{name}': {problem}")
                             .format(name=m.name, problem=problem))
        _check_overdue(defn, m, where, report)


def _check_timing(defn: WorkflowDef, m: MilestoneDef, where: Path_, report: _Report) -> None:
    anchored = (m.every is not None and isinstance(m.due, DueDef) and m.due.param is not None
                and m.due.after is None)
    if (m.due is None) == (m.every is None) and not anchored:
        report.error(where, _("milestone '{name}' needs exactly one of due: or every: (or "
                              "every: with due: {{param: DATE}} as the date it counts from)")
                     .format(name=m.name))
    if m.every is not None and not m.active_in:
        report.error((*where, "every"), _(
            "milestone '{name}' recurs (every: {every}) but has no active_in states to count from"
        ).format(name=m.name, every=m.every))
    if not isinstance(m.due, DueDef):
        return
    due = m.due
    if (due.param is None) == (due.after is None):
        report.error((*where, "due"), _(
            "milestone '{name}': due: needs exactly one of param: or after: (or is a literal date)"
        ).format(name=m.name))
    if due.after is not None and not m.active_in:
        report.error((*where, "due", "after"), _(
            "milestone '{name}' is due {after} after entering its active_in states, but has none"
        ).format(name=m.name, after=due.after))
    if due.param is not None:
        _check_due_param(defn, m.name, due.param, (*where, "due", "param"), report)


def _check_due_param(defn: WorkflowDef, name: str, param: str, at: Path_, report: _Report) -> None:
    declared = defn.params.get(param)
    if declared is None:
        report.error(at, _("milestone '{name}' is due on undeclared param '{param}'{suggestion}")
                     .format(name=name, param=param, suggestion=suggest(param, defn.params)))
    elif declared.type != "date":
        report.error(at, _("milestone '{name}' is due on param '{param}', which must have "
                           "type: date (it has type: {type})").format(
            name=name, param=param, type=declared.type))


def _check_overdue(defn: WorkflowDef, m: MilestoneDef, where: Path_, report: _Report) -> None:
    if m.on_overdue is None:
        return
    trigger, at = m.on_overdue.trigger, (*where, "on_overdue", "trigger")
    if trigger not in defn.triggers:
        report.error(at, _("milestone '{name}' on_overdue fires unknown trigger '{trigger}'"
                           "{suggestion}").format(
            name=m.name, trigger=trigger, suggestion=suggest(trigger, defn.triggers)))
    elif m.active_in and not any(defn.transition(s, trigger) for s in m.active_in):
        report.error(at, _("milestone '{name}' on_overdue trigger '{trigger}' is not possible "
                           "from any of its active_in states ({states})").format(
            name=m.name, trigger=trigger, states=", ".join(m.active_in)))


def _check_records(defn: WorkflowDef, report: _Report) -> None:
    for kind, record in defn.records.items():
        if not record.fields:
            report.error(("records", kind, "fields"),
                         _("record '{kind}' declares no fields").format(kind=kind))
        for name, spec in record.fields.items():
            at = ("records", kind, "fields", name)
            if spec.type == "choice" and not spec.choices:
                report.error(at, _("field '{name}' of record '{kind}' has type: choice but no "
                                   "choices: [...]").format(name=name, kind=kind))
            elif spec.type != "choice" and spec.choices is not None:
                report.error((*at, "choices"), _(
                    "field '{name}' of record '{kind}' has choices but type: {type}; use type: "
                    "choice").format(name=name, kind=kind, type=spec.type))
    for i, m in enumerate(defn.milestones):
        if m.met_by is not None:
            _check_met_by(defn, m.name, m.met_by, ("milestones", i, "met_by"), report)


def _check_met_by(defn: WorkflowDef, name: str, met_by: MetByDef, at: Path_, report: _Report) -> None:
    record = defn.records.get(met_by.record)
    if record is None:
        report.error((*at, "record"), _(
            "milestone '{name}' is met by undeclared record kind '{kind}'{suggestion}"
        ).format(name=name, kind=met_by.record, suggestion=suggest(met_by.record, defn.records)))
    elif met_by.date_field is not None and met_by.date_field not in record.date_fields():
        report.error((*at, "date_field"), _(
            "milestone '{name}': record '{kind}' has no date field '{field}'{suggestion}"
        ).format(name=name, kind=met_by.record, field=met_by.date_field,
                 suggestion=suggest(met_by.date_field, record.date_fields())))


def _check_decisions(defn: WorkflowDef, report: _Report) -> None:
    """Decision bodies are declared; a date counted from a decision has a decision to count from."""
    for i, t in enumerate(defn.transitions):
        if t.decision is None:
            continue
        for j, body in enumerate(t.decision.by):
            if body not in defn.bodies:
                hint = suggest(body, defn.bodies) or _(" (declare it under bodies:)")
                report.error(("transitions", i, "decision", "by", j), _(
                    "transition '{trigger}' is decided by undeclared body '{body}'{suggestion}"
                ).format(trigger=t.trigger, body=body, suggestion=hint))
        document = t.decision.document
        if document is not None and (problem := require_member(N_("document kind"), document,
                                                               DOCUMENT_KINDS)):
            report.error(("transitions", i, "decision", "document"),
                         _("transition '{trigger}': {problem}").format(
                             trigger=t.trigger, problem=problem))
    for i, m in enumerate(defn.milestones):
        if m.on_overdue is not None:
            decided = [t for t in defn.transitions
                       if t.trigger == m.on_overdue.trigger and t.decision is not None]
            if decided:
                report.error(("milestones", i, "on_overdue", "trigger"), _(
                    "milestone '{name}' on_overdue fires '{trigger}', which records a decision; "
                    "the scheduler cannot take decisions").format(
                    name=m.name, trigger=m.on_overdue.trigger))
        if isinstance(m.due, DueDef) and m.due.from_ == "decision":
            _check_decided_entry(defn, m, ("milestones", i, "due", "from"), report)


def _check_decided_entry(defn: WorkflowDef, m: MilestoneDef, at: Path_, report: _Report) -> None:
    """``from: decision`` needs a duration and a decision to count from: some move into the
    milestone's active_in states must record one (a later move without a decision keeps it)."""
    if m.due.after is None:  # type: ignore[union-attr]
        report.error(at, _("milestone '{name}': from: decision counts a duration (after:) "
                           "from the decision date").format(name=m.name))
        return
    if not any(t.dest in m.active_in and t.decision is not None for t in defn.transitions):
        report.error(at, _("milestone '{name}' counts from a decision, but no move into its "
                           "active_in states ({states}) records one (decision:)").format(
            name=m.name, states=", ".join(m.active_in)))


def _check_migrations(defn: WorkflowDef, report: _Report) -> None:
    first: dict[int, int] = {}
    for i, m in enumerate(defn.migrates_from):
        at = ("migrates_from", i)
        if m.version >= defn.version:
            report.error((*at, "version"), _(
                "migrates_from version {old} is not older than this version ({version})"
            ).format(old=m.version, version=defn.version))
        if m.version in first:
            report.error((*at, "version"), _(
                "migrates_from version {old} is declared twice (first at line {first})"
            ).format(old=m.version, first=first[m.version]))
        first.setdefault(m.version, report.line_of((*at, "version")))
        for old, new in m.states.items():
            if new not in defn.states:
                report.error((*at, "states", old), _(
                    "migrates_from version {version} maps state '{old}' to undeclared state "
                    "'{new}'{suggestion}").format(version=m.version, old=old, new=new,
                                                  suggestion=suggest(new, defn.states)))


def _check_params(defn: WorkflowDef, report: _Report) -> None:
    for name, param in defn.params.items():
        if param.default is None:
            continue
        try:
            coerce_value(param.type, param.default)
        except ValueError as err:
            report.error(("params", name, "default"),
                         _("param '{name}' default: {problem}").format(name=name, problem=err))


def _check_facts(defn: WorkflowDef, report: _Report) -> None:
    """`min`, `max` and `decimals` fit the fact's type, and `min` is not above `max`."""
    for name, fact in defn.facts.items():
        at = ("facts", name)
        if fact.decimals is not None and fact.type != "decimal":
            report.error((*at, "decimals"), _(
                "fact '{name}' declares decimals but has type: {type}; decimals are for type: "
                "decimal").format(name=name, type=fact.type))
        bounds = {}
        for key in ("min", "max"):
            raw = getattr(fact, key)
            if raw is None:
                continue
            if fact.type not in ("int", "decimal", "date"):
                report.error((*at, key), _(
                    "fact '{name}' declares {key} but has type: {type}; {key} is for a number "
                    "or a date").format(name=name, key=key, type=fact.type))
                continue
            try:
                bounds[key] = coerce_value(fact.type, raw, places=fact.decimals)
            except ValueError as err:
                report.error((*at, key), _("fact '{name}' {key}: {problem}").format(
                    name=name, key=key, problem=err))
        if len(bounds) == 2 and bounds["min"] > bounds["max"]:
            report.error((*at, "min"), _("fact '{name}': min {low} is above max {high}").format(
                name=name, low=fact.min, high=fact.max))


def _warn_unreachable(defn: WorkflowDef, report: _Report) -> None:
    if defn.initial not in defn.states:
        return
    reached, todo = {defn.initial}, [defn.initial]
    while todo:
        for t in defn.transitions_from(todo.pop()):
            if t.dest not in reached:
                reached.add(t.dest)
                todo.append(t.dest)
    for name in defn.states:
        if name not in reached:
            report.warn(("states", name), _(
                "state '{name}' is unreachable from initial state '{initial}'"
            ).format(name=name, initial=defn.initial))


# --- requirements ---------------------------------------------------------------------------


class RequirementCompiler(Protocol):
    """Compiles a workflow's requirement specs into checks (the engine's check registry)."""

    def compile_workflow(
        self, definition: WorkflowDef, specs: Mapping[str, dict[str, Any]]
    ) -> tuple[dict[str, Compiled], dict[str, tuple[Path_, str]]]:
        """The compiled checks by name, and for each spec that failed: where in it, and why."""
        ...


#: A compiled requirement: called with a region's context, it returns the check's result.
Compiled = Callable[[Any], Any]


def _compile_requirements(
    defn: WorkflowDef, parsed: _Parsed, compiler: RequirementCompiler, report: _Report
) -> dict[str, Compiled]:
    """Compile every declared requirement; report each bad one once, at its line."""
    specs = {name: dict(spec) for name, spec in (parsed.data.get("requirements") or {}).items()}
    for name, added in defn.requirements.items():  # e.g. a decision's document
        if name not in specs:
            specs[name] = added.model_dump(by_alias=True, exclude_none=True)
    compiled, failed = compiler.compile_workflow(defn, specs)
    for name, (path, message) in failed.items():
        # A failing requirement also fails everything that refers to it; report it only once.
        refs = _references(specs[name]) - {name}
        if all(failed.get(ref, ((), ""))[1] != message for ref in refs):
            report.error(("requirements", name, *path),
                         _("requirement '{name}': {problem}").format(name=name, problem=message))
    return compiled


def _references(spec: Any) -> set[str]:
    """Names of the requirements that `spec` refers to with ``{requirement: NAME}``."""
    items = (item.get("requirement") for _, item in _spec_items(spec, ()))
    return {ref for ref in items if isinstance(ref, str)}


def _spec_items(spec: Any, path: Path_, seen: set[int] | None = None) -> Iterator[tuple[Path_, Any]]:
    """Every check item in `spec` (itself, and nested under combinators), with its path."""
    seen = set() if seen is None else seen
    if not isinstance(spec, dict) or id(spec) in seen:
        return
    seen.add(id(spec))
    yield path, spec
    inner = spec.get("with")
    for i, item in enumerate(inner) if isinstance(inner, list) else [(None, inner)]:
        yield from _spec_items(item, (*path, "with", i) if i is not None else (*path, "with"), seen)


def _check_case_states(
    parsed: _Parsed, workflows: Mapping[str, WorkflowDef], report: _Report
) -> None:
    """A ``case`` check must name states that the (known) other workflow declares."""
    for name, spec in (parsed.data.get("requirements") or {}).items():
        for path, item in _spec_items(spec, ("requirements", name)):
            params = item.get("with") if item.get("check") == "case" else None
            params = params if isinstance(params, dict) else {}
            target, states = params.get("workflow"), params.get("state")
            other = workflows.get(target) if isinstance(target, str) else None
            states = [states] if isinstance(states, str) else states
            for j, state in enumerate(states if isinstance(states, list) else []):
                if other and state not in other.states:
                    report.error((*path, "with", "state", j), _(
                        "requirement '{name}' checks for state '{state}' of workflow '{workflow}', "
                        "which that workflow does not declare{suggestion}").format(
                        name=name, state=state, workflow=target,
                        suggestion=suggest(str(state), other.states)))


# --- public API -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedWorkflow:
    """A valid workflow definition with its source text, hash and compiled requirements.

    Attributes:
        definition: the validated definition; every ``source: "*"`` is spelled out.
        text: the file's text, as stored with each workflow version.
        sha256: hex SHA-256 of `text` (UTF-8).
        source: the file name or path it was read from.
        requirements: requirement name -> compiled check.
        warnings: ``FILE:LINE: message`` sentences that do not stop loading.
    """

    definition: WorkflowDef
    text: str
    sha256: str
    source: str
    requirements: dict[str, Compiled] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The workflow's slug."""
        return self.definition.workflow

    @property
    def version(self) -> int:
        """The workflow's version number."""
        return self.definition.version


def load_workflow_text(
    text: str, source: str = "<text>", registry: RequirementCompiler | None = None
) -> LoadedWorkflow:
    """Parse, validate and compile one workflow.

    Args:
        text: the YAML text of the workflow.
        source: the file it came from; its base name starts every problem message.
        registry: compiles the requirements (none: they are validated for shape only).

    Returns:
        The loaded workflow, with warnings (e.g. unreachable states).

    Raises:
        DefinitionError: listing every problem found, each as ``FILE:LINE: message``.
    """
    file = Path(source).name or source
    try:
        parsed = _parse(text)
    except _YamlProblem as err:
        raise _error([f"{file}:{err.line}: {err}"]) from None
    report = _Report(parsed, file)
    _report_duplicates(parsed, report)
    defn = _validate_shape(parsed, report)
    compiled: dict[str, Compiled] = {}
    if defn is not None:
        defn = _check_rules(defn, report)
        if registry is not None:
            compiled = _compile_requirements(defn, parsed, registry, report)
        _check_case_states(parsed, {defn.workflow: defn}, report)
    report.raise_if_any()
    assert defn is not None  # raise_if_any raised when the shape was invalid
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    warnings = tuple(text for _, text in sorted(report.warnings, key=lambda w: w[0]))
    return LoadedWorkflow(defn, text, digest, source, compiled, warnings)


def load_workflow_file(path: str | Path, registry: RequirementCompiler | None = None) -> LoadedWorkflow:
    """Load one workflow file (UTF-8 YAML).

    Raises:
        DefinitionError: the file cannot be read or is not a valid workflow.
    """
    path = Path(path)
    try:
        data = read_limited(path)
    except OSError as err:
        raise _error([_("{file}: cannot read the file ({reason})").format(
            file=path.name, reason=err.strerror or err)]) from None
    except _YamlProblem as err:
        raise _error([f"{path.name}:{err.line}: {err}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _error([_("{file}:{line}: the file is not UTF-8 text").format(
            file=path.name, line=line)]) from None
    return load_workflow_text(text, source=str(path), registry=registry)


def load_directory(
    path: str | Path, registry: RequirementCompiler | None = None
) -> dict[str, LoadedWorkflow]:
    """Load every ``*.yaml`` / ``*.yml`` file of a directory, in name order.

    Besides each file's own rules: two files may not share a `workflow:` slug, and a
    ``case`` check naming a workflow of the directory must name states it declares.

    Returns:
        Workflow slug -> loaded workflow.

    Raises:
        DefinitionError: listing the problems of all files together.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise DefinitionError(_("{directory}: not a directory of workflow files")
                              .format(directory=directory))
    files = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    loaded: dict[str, LoadedWorkflow] = {}
    problems: list[str] = []
    for file in files:
        try:
            workflow = load_workflow_file(file, registry)
        except DefinitionError as err:
            problems.extend(err.problems)
            continue
        if workflow.name in loaded:
            line = _parse(workflow.text).line_of(("workflow",))
            problems.append(_("{file}:{line}: workflow '{name}' is already defined in {other}")
                            .format(file=file.name, line=line, name=workflow.name,
                                    other=Path(loaded[workflow.name].source).name))
        else:
            loaded[workflow.name] = workflow
    problems.extend(_cross_problems(loaded))
    if problems:
        raise _error(problems)
    return loaded


def _cross_problems(loaded: Mapping[str, LoadedWorkflow]) -> list[str]:
    definitions = {name: wf.definition for name, wf in loaded.items()}
    problems: list[str] = []
    for wf in loaded.values():
        report = _Report(_parse(wf.text), Path(wf.source).name)
        _check_case_states(report.parsed, definitions, report)
        problems.extend(report.sorted_problems())
    return problems
