"""Read what `region show`, `region list` and `history` show, with ``sqlite3`` and nothing heavy.

Each method returns exactly the document the service method of the same name returns (the
one ``--json`` prints), or None when the full path must answer: an unknown region, an event
that is not there, anything unusual. :func:`open_reader` answers None for every invocation
the lean path does not cover; see :mod:`onderwijsflow.lean`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from onderwijsflow.lean.labels import Labels, read_yaml
from onderwijsflow.lean.sqlite import Connection, connect_sqlite

__all__ = ["Reader", "lean_read", "open_reader", "shipped_configuration"]

T = TypeVar("T")

#: Event kinds listed by `history` without `--all` (as `service.history.STATUS_KINDS`).
STATUS_KINDS = ("transition", "migrated")


def _shipped(name: str) -> Path:
    """The shipped folder `name`, found as the full path would find it: through the module
    that reads it when that is already imported (tests replace its `shipped`), else through
    :mod:`onderwijsflow.resources`."""
    from onderwijsflow import resources

    owner = sys.modules.get("onderwijsflow.service.base" if name == "workflows"
                            else "onderwijsflow.config")
    finder: Callable[[str], Path] = getattr(owner, "shipped", resources.shipped)
    return finder(name)


def shipped_configuration() -> Any:
    """The shipped configuration's data: all the lean path reads, as it never runs with
    ``--config`` (the database and language, `deadlines`' `reminder_time`, `check`'s actors)."""
    return read_yaml((_shipped("config") / "onderwijsflow.yaml").read_text(encoding="utf-8"))


def _defaults(data: Any) -> tuple[str, str] | None:
    """The shipped configuration's database URL and language (None: not plain text)."""
    if not isinstance(data, Mapping):
        return None
    database, language = data.get("database"), data.get("language", "nl")
    if not isinstance(database, str) or language not in ("nl", "en"):
        return None
    return database, language


def open_reader(options: Mapping[str, Any]) -> Reader | None:
    """A lean reader for the CLI's global `options`, or None when the full path must run:
    a configuration file, ``--now``, ``--backdate``, ``--actor`` other than the login in a
    production database (on PostgreSQL any ``--actor``), an unusual database URL, a schema
    that is not current, or any failure on the way (the full path then says what is wrong).
    SQLite is read with ``sqlite3``, PostgreSQL with psycopg (:mod:`onderwijsflow.lean.postgres`)."""
    if any(options.get(key) is not None for key in ("config", "now", "backdate")):
        return None
    if set(options) - {"db", "config", "workflows", "actor", "now", "backdate"}:
        return None  # an option this path does not know of
    connection: Connection | None = None
    try:
        configuration = shipped_configuration()
        defaults = _defaults(configuration)
        if defaults is None:
            return None
        from onderwijsflow import i18n

        if not i18n.explicit():  # as `Onderwijsflow.open`: the configuration's language
            i18n.set_language(defaults[1])
        url = options.get("db") or defaults[0]
        connection = connect_sqlite(url)
        if connection is None:
            if options.get("actor") is not None:
                return None  # on PostgreSQL the login is the database's user: the service's
            from onderwijsflow.lean.postgres import connect_postgres

            connection = connect_postgres(url)
            if connection is None:
                return None
        if dialect(connection) == "sqlite":  # psycopg begins with the first query
            connection.execute("BEGIN")
        if not _schema_current(connection) or not _actor_allowed(connection, options.get("actor")):
            connection.close()
            return None
        workflows = options.get("workflows")
        return Reader(connection, Path(workflows) if workflows else _shipped("workflows"),
                      configuration)
    except Exception:
        if connection is not None:
            connection.close()
        return None


def lean_read(
    options: Mapping[str, Any],
    fetch: Callable[[Reader], T | None],
    wanted: Callable[[T], Iterable[tuple[str, int | None]] | None] | None = None,
) -> tuple[T, Labels | None] | None:
    """What `fetch` reads on the lean path, with the labels when `wanted` (given what was
    read) names the (workflow, version) pairs whose labels will be shown; all read in one
    transaction before anything is printed. None: take the full path (nothing was shown).
    """
    reader = open_reader(options)
    if reader is None:
        return None
    try:
        found = fetch(reader)
        if found is None:
            return None
        pairs = wanted(found) if wanted is not None else None
        if pairs is None:
            return found, None
        labels = reader.labels()
        if labels is None or not labels.preload(pairs):
            return None
        return found, labels
    except Exception:  # anything unexpected: the full path answers
        return None
    finally:
        reader.close()


def _schema_current(connection: Connection) -> bool:
    """The stored schema revision is the code's (else the full path names the problem)."""
    from onderwijsflow.store.migrations import HEAD

    found = ("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
             if dialect(connection) == "sqlite" else
             "SELECT 1 FROM information_schema.tables WHERE table_name = 'alembic_version' "
             "AND table_schema = current_schema()")
    if connection.execute(found).fetchone() is None:
        return False
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return row is not None and row[0] == HEAD


def _actor_allowed(connection: Connection, actor: str | None) -> bool:
    """`--actor` passes the policy without a refusal: none given, the login, or a practice
    database (as `Base._enforce_policy`)."""
    if actor is None:
        return True
    from onderwijsflow.login import login_name

    if actor == login_name():
        return True
    row = connection.execute("SELECT practice FROM policy WHERE id = 1").fetchone()
    return row is not None and bool(row[0])


def _json(raw: Any) -> Any:
    """A JSON column's value as SQLAlchemy reads it on SQLite (numbers come back as numbers)."""
    if raw is None or isinstance(raw, int | float):
        return raw
    return json.loads(raw)


def _moment(raw: Any) -> datetime:
    """A stored (UTC, naive) datetime column."""
    if isinstance(raw, str):
        return datetime.fromisoformat(raw)
    raise ValueError(f"not a stored moment: {raw!r}")


def _iso_local(raw: Any) -> str | None:
    from onderwijsflow.clock import iso_local

    return iso_local(_moment(raw)) if raw is not None else None


def _day(raw: Any) -> str | None:
    """A stored date column as ISO text."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return date.fromisoformat(raw).isoformat()
    raise ValueError(f"not a stored date: {raw!r}")


def _value(kind: str, raw: Any) -> Any:
    """A stored fact's JSON-safe value (as ``dump_value(stored_value(...))``)."""
    from onderwijsflow.values import dump_value, stored_value

    return dump_value(stored_value(kind, _json(raw)))


def dialect(connection: Connection) -> str:
    """``sqlite`` or ``postgresql``: the database a lean connection reads."""
    return str(getattr(connection, "dialect", "sqlite"))


class Reader:
    """One read transaction on a SQLite or PostgreSQL database, and the labels of its
    workflows."""

    def __init__(self, connection: Connection, workflows: Path,
                 configuration: Mapping[str, Any] | None = None) -> None:
        self.connection = connection
        #: The shipped configuration's data, read once (`deadlines` and `check` ask it too).
        self.configuration: Mapping[str, Any] = configuration or {}
        #: ``sqlite`` or ``postgresql`` (commands whose SQL is SQLite's alone ask).
        self.dialect = dialect(connection)
        self._labels = Labels(connection, workflows)

    def close(self) -> None:
        """End the transaction and close the connection."""
        self.connection.close()

    def labels(self) -> Labels | None:
        """The labels, when the workflow files are ones the full path would load as well."""
        try:
            return self._labels if self._labels.verify() else None
        except Exception:
            return None

    def _region(self, slug: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.connection.execute(
            "SELECT id, slug, name, provinces, sectors, coordinator, event_seq FROM regions "
            "WHERE slug = ?", (slug,)).fetchone()
        return row

    def show_region(self, slug: str) -> dict[str, Any] | None:
        """As `RegionOps.show_region`; None for an unknown region."""
        found = self._region(slug)
        if found is None:
            return None
        rid = found[0]
        q = self.connection.execute
        cases_rows = q("SELECT id, workflow, round, state, workflow_version, opened_at, "
                       "state_entered_at, decided_on FROM cases WHERE region_id = ? ORDER BY id",
                       (rid,)).fetchall()
        own: dict[int, dict[str, Any]] = {}
        ids = [row[0] for row in cases_rows]
        if ids:
            marks = ", ".join("?" * len(ids))
            for cid, name, kind, value in q(
                    f"SELECT case_id, name, type, value FROM case_facts WHERE case_id IN ({marks}) "
                    "ORDER BY name", ids):
                own.setdefault(cid, {})[name] = _value(kind, value)
        cases: dict[str, Any] = {}
        for cid, workflow, round_, state, version, opened, entered, decided in cases_rows:
            key = workflow + (f"/{round_}" if round_ else "")
            cases[key] = {"state": state, "version": version, "opened": _iso_local(opened),
                          "round": round_ or None, "entered": _iso_local(entered),
                          "decided_on": _day(decided), "facts": own.get(cid, {})}
        return {
            "slug": found[1],
            "name": found[2],
            "provinces": _json(found[3]),
            "sectors": _json(found[4]),
            "coordinator": found[5],
            "cases": cases,
            "partners": [{"name": name, "kind": kind, "sector": sector} for name, kind, sector in q(
                "SELECT name, kind, sector FROM partners WHERE region_id = ? ORDER BY name",
                (rid,))],
            "roles": [{"role": role, "person": person, "email": email} for role, person, email in q(
                "SELECT role, person, email FROM role_assignments WHERE region_id = ? "
                "ORDER BY role, person", (rid,))],
            "documents": [{"kind": kind, "title": title, "ref": ref, "date": _day(day)}
                          for kind, title, ref, day in q(
                              "SELECT kind, title, ref, date FROM documents WHERE region_id = ? "
                              "ORDER BY id", (rid,))],
            "facts": {name: _value(kind, value) for name, kind, value in q(
                "SELECT name, type, value FROM facts WHERE region_id = ? ORDER BY name", (rid,))},
        }

    def list_regions(self, *, state: str | None = None,
                     workflow: str | None = None) -> list[dict[str, Any]]:
        """As `RegionOps.list_regions`."""
        q = self.connection.execute
        regions = {rid: (slug, name, coordinator) for rid, slug, name, coordinator in q(
            "SELECT id, slug, name, coordinator FROM regions ORDER BY slug")}
        cases: dict[int, dict[str, str]] = {rid: {} for rid in regions}
        for rid, case_workflow, round_, case_state in q(
                "SELECT region_id, workflow, round, state FROM cases ORDER BY id"):
            cases[rid][case_workflow + (f"/{round_}" if round_ else "")] = case_state
        out = []
        for rid, (slug, name, coordinator) in regions.items():
            states = cases[rid]
            if _matches(states, state, workflow):
                out.append({"slug": slug, "name": name, "coordinator": coordinator,
                            "cases": states})
        return out

    def _events(self, rid: int, seq: int | None = None) -> list[dict[str, Any]]:
        query = ("SELECT seq, at, recorded_at, actor, workflow, kind, trigger, from_state, "
                 "to_state, reason, data, hash FROM events WHERE region_id = ?")
        params: tuple[Any, ...] = (rid,)
        if seq is not None:
            query += " AND seq = ?"
            params = (rid, seq)
        return [_event_json(row) for row in self.connection.execute(query + " ORDER BY seq", params)]

    def history(self, slug: str, *, workflow: str | None = None, all_events: bool = False,
                kinds: tuple[str, ...] = (), limit: int | None = None) -> dict[str, Any] | None:
        """As `HistoryOps.history` without `as_of` and `since`; None for an unknown region or
        a `limit` below 1 (the full path refuses them)."""
        if limit is not None and limit < 1:
            return None
        found = self._region(slug)
        if found is None:
            return None
        events = self._events(found[0])
        if workflow is not None:
            events = [e for e in events if e["workflow"] in (workflow, None)]
        shown = [e for e in events
                 if (e["kind"] in kinds if kinds else all_events or e["kind"] in STATUS_KINDS)]
        return {"region": slug, "events": shown[-limit:] if limit else shown}

    def event(self, slug: str, seq: int) -> dict[str, Any] | None:
        """As `HistoryOps.event`; None for an unknown region or event."""
        found = self._region(slug)
        if found is None:
            return None
        events = self._events(found[0], seq)
        return {"region": slug, "event": events[0]} if events else None


    def verify_audit(self, slug: str | None = None) -> dict[str, Any] | None:
        """As `AuditOps.verify_audit` without an anchor, when the whole log (or the region's)
        is intact; None for an unknown region or any problem at all, which the full path
        then names in its own words."""
        from onderwijsflow.chain import event_hash

        q = self.connection.execute
        where = " WHERE slug = ?" if slug is not None else ""
        heads = {rid: [head_seq, head_hash, 0, ""] for rid, head_seq, head_hash in q(
            "SELECT id, event_seq, event_hash FROM regions" + where + " ORDER BY id",
            (slug,) if slug is not None else ())}
        if slug is not None and not heads:
            return None
        only = (" WHERE region_id = ?", tuple(heads)) if slug is not None else ("", ())
        history: dict[int, str] = {}
        events = 0
        for row in q("SELECT hash, region_id, seq, case_id, workflow, kind, trigger, from_state, "
                     "to_state, actor, reason, at, recorded_at, data, prev_hash FROM events"
                     + only[0] + " ORDER BY region_id, seq", only[1]):
            events += 1
            digest, fields = row[0], dict(zip(_EVENT_COLUMNS, row[1:], strict=True))
            head = heads.get(fields["region_id"])
            if head is None or fields["seq"] != head[2] + 1 or fields["prev_hash"] != head[3]:
                return None
            fields["at"], fields["recorded_at"] = _utc(fields["at"]), _utc(fields["recorded_at"])
            fields["data"] = _json(fields["data"])
            if event_hash(fields["prev_hash"], fields) != digest:
                return None
            head[2], head[3] = fields["seq"], digest
            if fields["kind"] in _STATE_KINDS and fields["case_id"] is not None and fields["to_state"]:
                history[fields["case_id"]] = fields["to_state"]
        if any(head[0] != head[2] or head[1] != head[3] for head in heads.values()):
            return None
        cases = 0
        for case_id, state in q("SELECT id, state FROM cases" + only[0], only[1]):
            cases += 1
            if history.get(case_id) != state:
                return None
        if slug is None and not self._policy_chain_holds():
            return None
        return {"ok": True, "regions": len(heads), "events": events, "broken": [], "cases": cases,
                "case_mismatches": [], "anchor": None, "problems": [], "policy_broken": []}

    def _policy_chain_holds(self) -> bool:
        """As `store.roles.verify_policy_chain` finding nothing broken."""
        import hashlib

        from onderwijsflow.chain import canonical_json

        prev, expected = "", 1
        for row in self.connection.execute(
                "SELECT seq, kind, actor, reason, at, recorded_at, data, prev_hash, hash "
                "FROM policy_events ORDER BY seq"):
            fields = dict(zip((*POLICY_HASHED, "hash"), row, strict=True))
            fields["at"], fields["recorded_at"] = _utc(fields["at"]), _utc(fields["recorded_at"])
            fields["data"] = _json(fields["data"])
            content = canonical_json({name: fields.get(name) for name in POLICY_HASHED})
            if (fields["seq"] != expected or fields["prev_hash"] != prev
                    or hashlib.sha256((prev + content).encode("utf-8")).hexdigest() != fields["hash"]):
                return False
            prev, expected = str(fields["hash"]), int(fields["seq"]) + 1
        return True


#: The columns of an event its hash covers, in the order `verify_audit` selects them.
_EVENT_COLUMNS = ("region_id", "seq", "case_id", "workflow", "kind", "trigger", "from_state",
                  "to_state", "actor", "reason", "at", "recorded_at", "data", "prev_hash")
#: As `store.audit.STATE_KINDS`: the event kinds that set a case's state.
_STATE_KINDS = ("case_opened", "transition", "migrated")
#: As `store.roles.POLICY_HASHED`: the fields of a policy event its hash covers.
POLICY_HASHED: tuple[str, ...] = ("seq", "kind", "actor", "reason", "at", "recorded_at", "data",
                                  "prev_hash")


def _utc(raw: Any) -> datetime:
    """A stored datetime as the ORM gives it: aware, in UTC."""
    from datetime import UTC

    return _moment(raw).replace(tzinfo=UTC)


def _event_json(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, at, recorded_at, actor, workflow, kind, trigger, source, dest, reason, raw, digest = row
    data = _json(raw)
    return {
        "seq": seq,
        "at": _iso_local(at),
        "recorded_at": _iso_local(recorded_at),
        "actor": actor,
        "workflow": workflow,
        "kind": kind,
        "trigger": trigger,
        "from": source,
        "to": dest,
        "reason": reason,
        "data": data,
        "hash": digest,
        "decision": (data or {}).get("decision"),
        **({"from_version": data.get("from_version"), "to_version": data.get("to_version")}
           if kind == "migrated" else {}),
    }


def _matches(states: dict[str, str], state: str | None, workflow: str | None) -> bool:
    """As `service.regions._matches`: a region shown by `region list --state/--workflow`."""
    items = [(key, value) for key, value in states.items()
             if workflow is None or key.split("/")[0] == workflow]
    if workflow is not None and not items:
        return False
    return state is None or any(value == state for _key, value in items)
