"""`check` without the ORM: the case, its snapshot and the asker's roles read with ``sqlite3``.

The requirements are evaluated exactly as the service evaluates them: the case's workflow
version is compiled from its stored (hence validated) text by the engine's checks, the
snapshot is read by the same queries (:mod:`onderwijsflow.snapshot`), and the answer is
built by :func:`~onderwijsflow.readiness.answer.check_json`. What is left out is what costs
the start: SQLModel, the ORM and the service. Anything unusual answers None and the command
takes the full path, which gives the same answer or names the problem: what the lean read
path leaves to it (see :mod:`onderwijsflow.lean`), an unknown region or workflow, a case
that is not the only one asked for, actors listed in the shipped configuration, any error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from onderwijsflow.clock import Clock
from onderwijsflow.lean.labels import Labels
from onderwijsflow.lean.reader import Reader, open_reader
from onderwijsflow.lean.sqlite import Connection
from onderwijsflow.login import login_name
from onderwijsflow.readiness.answer import check_json
from onderwijsflow.shapes import CheckJson
from onderwijsflow.snapshot.focus import for_case
from onderwijsflow.snapshot.rows import day_of, decode_json, read_snapshots, utc

__all__ = ["LeanCase", "lean_check"]


@dataclass(frozen=True)
class LeanCase:
    """A case as the checks and the answer read it (the columns of the ORM's `Case`)."""

    id: int
    region_id: int
    workflow: str
    workflow_version: int
    round: str | None
    params: dict[str, Any] | None
    state: str
    state_entered_at: dt.datetime | None
    decided_on: dt.date | None


def lean_check(options: Mapping[str, Any], slug: str, *, workflow: str | None = None,
               round_: str | None = None, target: str | None = None,
               ) -> tuple[CheckJson, Labels] | None:
    """What `Onderwijsflow.check` answers, with the labels of the workflow files, or None
    when the full path must answer (nothing was shown)."""
    reader = open_reader(options)
    if reader is None:
        return None
    if reader.dialect != "sqlite":  # roles on PostgreSQL are its groups: the service's
        reader.close()
        return None
    try:
        labels = reader.labels()
        if labels is None or not labels.preload():
            return None
        return _check(reader, options.get("actor"), slug, workflow, round_, target), labels
    except Exception:  # anything unexpected, a refusal included: the full path answers
        return None
    finally:
        reader.close()


def _check(reader: Reader, actor: str | None, slug: str, workflow: str | None,
           round_: str | None, target: str | None) -> CheckJson:
    from onderwijsflow.engine.loading import load_workflow_text
    from onderwijsflow.engine.machine import WorkflowMachine

    connection = reader.connection
    q = connection.execute
    found = q("SELECT id FROM regions WHERE slug = ?", (slug,)).fetchone()
    if found is None:
        raise LookupError(slug)
    cases = _cases(connection, int(found[0]))
    case = _the_case(cases, workflow, round_)
    text = q("SELECT text FROM workflow_versions WHERE name = ? AND version = ?",
             (case.workflow, case.workflow_version)).fetchone()
    if text is None:
        raise LookupError(case.workflow)
    machine = WorkflowMachine(load_workflow_text(
        str(text[0]), f"{case.workflow} v{case.workflow_version} (stored)"))
    # `--now` never reaches this path: the moment is the wall clock's, as the service's.
    snapshot = read_snapshots(lambda sql, params: q(sql, params).fetchall(), [case.region_id],
                              Clock().now(), cases)
    ctx = for_case(snapshot.context(case.region_id, slug), case, machine.definition)
    return check_json(slug, case, machine, ctx, _roles(connection, reader.configuration, actor),
                      target)


def _cases(connection: Connection, region_id: int) -> list[LeanCase]:
    """The region's cases, oldest first (as `service.snapshot.region_cases`)."""
    return [LeanCase(cid, rid, name, version, round_, decode_json(params), state,
                     utc(entered), day_of(decided))
            for cid, rid, name, version, round_, params, state, entered, decided in connection.execute(
                "SELECT id, region_id, workflow, workflow_version, round, CAST(params AS TEXT), "
                "state, state_entered_at, decided_on FROM cases WHERE region_id = ? ORDER BY id",
                (region_id,))]


def _the_case(cases: Sequence[LeanCase], workflow: str | None, round_: str | None) -> LeanCase:
    """The one case asked for (as the service's `_case` without a trigger); anything else,
    which the service refuses with its own sentence, is a LookupError here."""
    wanted = [c for c in cases if (workflow is None or c.workflow == workflow)
              and (round_ is None or c.round == round_)]
    if len(wanted) != 1:
        raise LookupError(workflow)
    return wanted[0]


def _roles(connection: Connection, configuration: Mapping[str, Any],
           actor: str | None) -> frozenset[str] | None:
    """The asker's roles as the service's policy gives them on SQLite: the stored users once
    there are any, else the configuration (which lists no actors here: everyone, every role)."""
    name = actor or login_name()
    users = {str(user): (roles, active) for user, roles, active in connection.execute(
        "SELECT name, CAST(roles AS TEXT), active FROM policy_users")}
    if users:
        roles, active = users.get(name, (None, False))
        return frozenset(decode_json(roles)) if roles is not None and active else frozenset()
    if configuration.get("actors"):
        raise LookupError("actors")  # the configuration's actors: the service applies them
    return None
