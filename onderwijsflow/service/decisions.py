"""Decisions taken outside the tool (language 1.1), recorded with the move they cause.

OCW, the Bestuurlijk Overleg or DUS-I decide; the coordinator records who decided, on which
date and with which reference. The event keeps it, so the history never shows the
coordinator as the one who decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from onderwijsflow.clock import parse_date, to_local
from onderwijsflow.definition.model import DATE_RANGE, TransitionDef, WorkflowDef
from onderwijsflow.errors import UsageError
from onderwijsflow.i18n import N_, _, format_date, join_and
from onderwijsflow.vocabulary import suggest

#: The longest reference a decision may carry (a register number, a file name).
MAX_REF = 200


@dataclass(frozen=True)
class DecisionInput:
    """What the person recording a decision gave: body, date and reference (any may be None)."""

    by: str | None = None
    date: str | date | None = None
    ref: str | None = None

    @property
    def given(self) -> bool:
        """Was any part of a decision given?"""
        return any(v not in (None, "") for v in (self.by, self.date, self.ref))


@dataclass(frozen=True)
class DecisionRecord:
    """A validated decision: who took it, when, its reference and the document kind."""

    by: str
    label: str
    date: date
    ref: str
    document: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored form, as `history --json` shows it: ``{by, by_label, date, ref, document}``."""
        return {"by": self.by, "by_label": self.label, "date": self.date.isoformat(),
                "ref": self.ref, "document": self.document}


def validate_decision(
    definition: WorkflowDef,
    transition: TransitionDef,
    given: DecisionInput,
    now: datetime,
    *,
    required: bool = True,
) -> DecisionRecord | None:
    """The decision to record with `transition`, or None when it records none.

    Args:
        now: the effective moment; a decision cannot be dated after it.
        required: False (a dry run) lets missing parts pass, but still refuses wrong ones.

    Raises:
        UsageError: a part is missing or wrong (a body the transition does not name, a date
            in the future, a decision given for a transition that records none).
    """
    spec = transition.decision
    if spec is None:
        if given.given:
            raise UsageError(_("'{trigger}' records no decision; leave out --decided-by, "
                               "--decision-date and --decision-ref").format(trigger=transition.trigger))
        return None
    bodies = ", ".join(f"{b} ({definition.body_label(b)})" for b in spec.by)
    missing = [opt for opt, value in (("--decided-by", given.by), ("--decision-date", given.date),
                                      ("--decision-ref", given.ref)) if value in (None, "")]
    if missing:
        if not required:
            return None
        raise UsageError(_("'{trigger}' records a decision of {bodies}: give {options}").format(
            trigger=transition.trigger, bodies=bodies, options=join_and(missing)))
    assert given.by is not None and given.date is not None and given.ref is not None
    if given.by not in spec.by:
        raise UsageError(_("'{body}' did not take the decision to {trigger}; it is taken by "
                           "{bodies}{suggestion}").format(body=given.by, trigger=transition.trigger,
                                                          bodies=bodies,
                                                          suggestion=suggest(given.by, spec.by)))
    day = given.date if isinstance(given.date, date) else parse_date(given.date)
    if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
        raise UsageError(_("decision date {date} lies outside the years {first}-{last}").format(
            date=day.isoformat(), first=DATE_RANGE[0].year, last=DATE_RANGE[1].year))
    today = to_local(now).date()
    if day > today:
        raise UsageError(_("decision date {date} lies in the future (today is {today})").format(
            date=day.isoformat(), today=format_date(today)))
    ref = given.ref.strip()
    if not ref or len(ref) > MAX_REF or any(ord(c) < 32 for c in ref):
        raise UsageError(_("--decision-ref must be one line of at most {n} characters").format(
            n=MAX_REF))
    return DecisionRecord(given.by, definition.body_label(given.by), day, ref, spec.document)


def check_reason(reason: str | None) -> None:
    """A ``--reason`` goes into the append-only log for good: at most a page of text, no
    control characters besides line breaks and tabs.

    Raises:
        UsageError: naming what is wrong (nothing is written).
    """
    if reason is None:
        return
    from onderwijsflow.validation import check_text

    try:
        check_text(reason, N_("the reason"))
    except ValueError as err:
        raise UsageError(str(err)) from None
