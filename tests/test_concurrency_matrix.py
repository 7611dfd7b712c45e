"""Many coordinators at once, on SQLite and on PostgreSQL, with real processes (design §6).

Eight driver processes each run fifty commands through the library API: partners added
under distinct names, a fact set, people put in roles, advances that may move the case (tried
again, as a coordinator would, when they lose a race) and advances that are always refused;
once all on one region and once each on a region of its own. A driver imports and connects
first, says it is ready and waits on its stdin; the test releases all of them together (a
barrier of pipes), so they really overlap. Every driver writes what happened to each attempt
(the exception class and the exit code the CLI would give) to a JSON file.

Afterwards the database must hold exactly what the outcomes say: one event per command
that succeeded and per advance that was refused (refusals are audited), none for an attempt
that lost a race (`Conflict`, exit 5), no gaps or duplicates in any region's sequence, a
chain of transitions without contradictions, refusals that name the state the case was in,
old values in events that match the value before, and an intact hash chain (``audit verify``
through the CLI).

Separately, on PostgreSQL, two ``onderwijsflow advance`` processes race for one case while
the test holds the region's row lock, so both have decided before either may write: exactly
one transition, the other exits 5 and writes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlmodel import col, select
from support import frozen_child

from onderwijsflow.service import Onderwijsflow
from onderwijsflow.store.db import Database
from onderwijsflow.store.tables import Case, Event, Fact, Partner, Region, RoleAssignment

REPO = Path(__file__).resolve().parents[1]
PROCESSES = 8
COMMANDS = 50

#: Advances that move a prepared regiovorming case back and forth (in_oprichting <-> ingediend).
CYCLE = ("dien_aanvraag_in", "zet_in_oprichting")
#: Needs governance, a plan, numbers...: refused from every state the case can be in here.
ALWAYS_REFUSED = "verleen_definitieve_status"
#: How often a driver tries an advance again after losing a race (as a coordinator would).
RETRIES = 3

DRIVER = """
import json
import sys

from onderwijsflow.errors import OnderwijsflowError
from onderwijsflow.service import Onderwijsflow

url, actor, plan_file, out_file = sys.argv[1:]
with open(plan_file, encoding="utf-8") as handle:
    plan = json.load(handle)
app = Onderwijsflow.open(db=url, actor=actor)
app.show_region(plan[0]["slug"])  # import, connect and check the schema before the start line
print("ready", flush=True)
sys.stdin.readline()


def run(command):
    op, slug = command["op"], command["slug"]
    try:
        if op == "partner":
            app.add_partner(slug, command["name"], kind="overig")
        elif op == "fact":
            app.set_fact(slug, "leerlingen_po", command["value"])
        elif op == "role":
            app.assign_role(slug, "projectleider", command["person"], email="pl@example.org")
        else:
            app.advance(slug, command["trigger"], workflow="regiovorming")
        return {"result": "ok", "exit": 0}
    except OnderwijsflowError as err:
        return {"result": type(err).__name__, "exit": err.exit_code, "message": str(err)}
    except Exception as err:  # what the CLI would report as "database problem" or "unexpected"
        return {"result": "unexpected", "exit": 1, "message": f"{type(err).__name__}: {err}"}


outcomes = []
for command in plan:
    # A coordinator whose advance lost a race (exit 5) tries again, a few times.
    for attempt in range(1 + command.get("retries", 0)):
        outcome = run(command)
        outcomes.append({**command, **outcome, "attempt": attempt})
        if outcome["result"] != "Conflict":
            break
app.close()
with open(out_file, "w", encoding="utf-8") as handle:
    json.dump(outcomes, handle)
print("done", flush=True)
"""


# --- processes -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bytecode_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where child processes keep compiled modules (see tests/test_concurrency.py)."""
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir("onderwijsflow-bytecode") if cache is not None else tmp_path_factory.mktemp("bytecode")


def child_env(bytecode: Path) -> dict[str, str]:
    """This checkout's package, no ONDERWIJSFLOW_* settings leaking in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return frozen_child(env)


def _line(process: subprocess.Popen[str], expected: str) -> None:
    assert process.stdout is not None
    while line := process.stdout.readline():
        if line.strip() == expected:
            return
    _, err = process.communicate(timeout=60)
    raise AssertionError(f"a driver ended before saying '{expected}':\n{err}")


@contextmanager
def drivers(tmp_path: Path, url: str, plans: dict[str, list[dict[str, Any]]],
            bytecode: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """One driver process per actor, started; killed on the way out if still running."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    processes = []
    try:
        for actor, plan in plans.items():
            plan_file = tmp_path / f"plan-{actor}.json"
            plan_file.write_text(json.dumps(plan), encoding="utf-8")
            processes.append(subprocess.Popen(
                [sys.executable, str(script), url, actor, str(plan_file),
                 str(tmp_path / f"outcomes-{actor}.json")],
                cwd=tmp_path, env=child_env(bytecode), text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            ))
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def run_together(tmp_path: Path, url: str, plans: dict[str, list[dict[str, Any]]],
                 bytecode: Path) -> dict[str, list[dict[str, Any]]]:
    """Start every driver, release them at once, wait; each actor's outcomes."""
    with drivers(tmp_path, url, plans, bytecode) as processes:
        for process in processes:
            _line(process, "ready")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            _, err = process.communicate(timeout=180)
            assert process.returncode == 0, err
            assert "Traceback" not in err, err
    return {actor: json.loads((tmp_path / f"outcomes-{actor}.json").read_text(encoding="utf-8"))
            for actor in plans}


def cli(tmp_path: Path, url: str, bytecode: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "onderwijsflow", "--db", url, *args],
                          cwd=tmp_path, env=child_env(bytecode), capture_output=True, text=True,
                          timeout=120)


# --- the scenario ---------------------------------------------------------------------------


def prepare(app: Onderwijsflow, slug: str) -> None:
    """A region whose regiovorming case can go round dien_aanvraag_in / zet_in_oprichting."""
    app.create_region(slug, name=slug.title())
    app.add_partner(slug, "Stichting Primair", kind="schoolbestuur", sector="PO")
    app.add_partner(slug, "Pabo", kind="lerarenopleiding")
    app.add_document(slug, "intentieverklaring", title="Intentieverklaring")
    app.add_document(slug, "arbeidsmarktanalyse", title="Arbeidsmarktanalyse")


def plan_for(index: int, slug: str) -> list[dict[str, Any]]:
    """Fifty mixed commands: 10 each of partner, fact, role, possible advance, refused advance."""
    actor = f"c{index}"
    plan: list[dict[str, Any]] = []
    for i in range(COMMANDS):
        kind = i % 5
        if kind == 0:
            plan.append({"op": "partner", "slug": slug, "name": f"Partner {actor}-{i:02d}"})
        elif kind == 1:
            plan.append({"op": "fact", "slug": slug, "value": str(100_000 * (index + 1) + i)})
        elif kind == 2:
            plan.append({"op": "advance", "slug": slug, "trigger": CYCLE[(i // 5) % 2],
                         "retries": RETRIES})
        elif kind == 3:
            plan.append({"op": "role", "slug": slug, "person": f"Persoon {actor}-{i:02d}"})
        else:
            plan.append({"op": "advance", "slug": slug, "trigger": ALWAYS_REFUSED})
    return plan


def writes_an_event(outcome: dict[str, Any]) -> bool:
    """Success writes one event; so does a refused advance (every attempt is audited)."""
    return outcome["result"] == "ok" or (outcome["op"] == "advance" and outcome["result"] == "Refused")


@pytest.mark.parametrize("layout", ["same-region", "own-region"])
def test_eight_processes_lose_and_duplicate_nothing(
    tmp_path: Path, backend_url: str, bytecode_cache: Path, layout: str
) -> None:
    started = time.monotonic()
    slugs = ["gedeeld"] if layout == "same-region" else [f"regio-{i}" for i in range(PROCESSES)]
    app = Onderwijsflow.open(db=backend_url, actor="setup")
    try:
        app.init()
        for slug in slugs:
            prepare(app, slug)
    finally:
        app.close()
    before = event_counts(backend_url)

    plans = {f"c{i}": plan_for(i, slugs[i % len(slugs)]) for i in range(PROCESSES)}
    outcomes = run_together(tmp_path, backend_url, plans, bytecode_cache)

    every = [o for actor_outcomes in outcomes.values() for o in actor_outcomes]
    assert sum(o["attempt"] == 0 for o in every) == PROCESSES * COMMANDS
    # Only three things may happen to a command: it is done, an advance is refused, or it lost
    # a race (exit 5, nothing written). Never a database error, never a crash.
    allowed = {("ok", 0), ("Refused", 3), ("Conflict", 5)}
    strange = [o for o in every if (o["result"], o["exit"]) not in allowed
               or (o["result"] == "Refused" and o["op"] != "advance")]
    assert not strange, strange[:5]
    # A refusal is decided again under the region's lock when the region changed meanwhile:
    # it is always recorded, with the state and evidence as they are when it is written.
    refused_moves = [o for o in every if o.get("trigger") == ALWAYS_REFUSED]
    assert {o["result"] for o in refused_moves} == {"Refused"}
    # Adding a partner or a person and setting a fact do not decide on a snapshot: writers of
    # one region queue for its lock and each one succeeds (nothing deadlocks, nothing is stale).
    assert all(o["result"] == "ok" for o in every if o["op"] in ("partner", "fact", "role"))
    conflicts = [o for o in every if o["result"] == "Conflict"]
    for conflict in conflicts:
        assert "nothing was written" in conflict["message"], conflict
    if layout == "own-region":
        # One writer per region: nobody can lose a race, every cycle step moves the case.
        assert not conflicts, conflicts[:5]
        assert all(o["result"] == "ok" for o in every if o.get("trigger") in CYCLE)

    check_database(backend_url, slugs, outcomes, before)

    verify = cli(tmp_path, backend_url, bytecode_cache, "audit", "verify", "--json")
    assert verify.returncode == 0, verify.stderr
    report = json.loads(verify.stdout)
    assert report["ok"] is True
    assert report["events"] == sum(before.values()) + sum(map(writes_an_event, every))
    summary = Counter((o["op"], o["result"]) for o in every)
    print(f"{layout} on {Database(backend_url).url.get_backend_name()}: "
          f"{time.monotonic() - started:.1f} s, {dict(summary)}")


def event_counts(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.session(write=False) as session:
            rows = session.execute(text(
                "SELECT r.slug, count(e.id) FROM regions r LEFT JOIN events e ON e.region_id = r.id "
                "GROUP BY r.slug"))
            return {slug: count for slug, count in rows}
    finally:
        database.dispose()


def check_database(url: str, slugs: list[str], outcomes: dict[str, list[dict[str, Any]]],
                   before: dict[str, int]) -> None:
    """What the database holds is exactly what the drivers' outcomes say was written."""
    database = Database(url)
    try:
        with database.session(write=False) as session:
            regions = {r.slug: (r.id, r.event_seq) for r in session.exec(select(Region))}
            slug_of = {rid: slug for slug, (rid, _) in regions.items()}
            events = [
                {"region_id": e.region_id, "seq": e.seq, "kind": e.kind, "actor": e.actor,
                 "from_state": e.from_state, "to_state": e.to_state, "data": e.data}
                for e in session.exec(select(Event).order_by(col(Event.region_id), col(Event.seq)))
            ]
            partners = Counter(slug_of[p.region_id] for p in session.exec(select(Partner)))
            roles = Counter(slug_of[a.region_id] for a in session.exec(select(RoleAssignment)))
            facts = {slug_of[f.region_id]: f.value
                     for f in session.exec(select(Fact).where(Fact.name == "leerlingen_po"))}
            cases = {c.region_id: c.state
                     for c in session.exec(select(Case).where(Case.workflow == "regiovorming"))}
            duplicates = session.execute(
                select(Event.region_id, Event.seq).group_by(col(Event.region_id), col(Event.seq))
                .having(func.count() > 1)
            ).all()
    finally:
        database.dispose()
    assert duplicates == []
    every = [o for actor_outcomes in outcomes.values() for o in actor_outcomes]

    # No event lost, none extra: per region, and per actor and kind.
    for slug in slugs:
        rid, head = regions[slug]
        mine = [e for e in events if e["region_id"] == rid]
        assert [e["seq"] for e in mine] == list(range(1, head + 1)), f"gap or duplicate in {slug}"
        expected = before[slug] + sum(writes_an_event(o) for o in every if o["slug"] == slug)
        assert head == expected, (slug, head, expected)
    by_actor = Counter((e["actor"], e["kind"]) for e in events)
    for actor, actor_outcomes in outcomes.items():
        done = Counter(o["op"] for o in actor_outcomes if o["result"] == "ok")
        refused = sum(1 for o in actor_outcomes if o["result"] == "Refused")
        assert by_actor[(actor, "partner_added")] == done["partner"]
        assert by_actor[(actor, "fact_set")] == done["fact"]
        assert by_actor[(actor, "role_assigned")] == done["role"]
        assert by_actor[(actor, "transition")] == done["advance"]
        assert by_actor[(actor, "refused")] == refused

    # Each command that succeeded is there exactly once; a command that lost wrote nothing.
    added = Counter(e["data"]["new"]["name"] for e in events if e["kind"] == "partner_added")
    assigned = Counter(e["data"]["new"]["person"] for e in events if e["kind"] == "role_assigned")
    values = Counter(e["data"]["new"] for e in events if e["kind"] == "fact_set")
    for o in every:
        present = {"partner": lambda o: added[o["name"]], "role": lambda o: assigned[o["person"]],
                   "fact": lambda o: values[int(o["value"])]}.get(o["op"])
        if present is not None:
            assert present(o) == (1 if o["result"] == "ok" else 0), o

    for slug in slugs:
        rid, _ = regions[slug]
        mine = [e for e in events if e["region_id"] == rid]
        ok_partners = sum(1 for o in every if o["slug"] == slug and o["op"] == "partner"
                          and o["result"] == "ok")
        ok_roles = sum(1 for o in every if o["slug"] == slug and o["op"] == "role" and o["result"] == "ok")
        assert partners[slug] == 2 + ok_partners  # the two partners `prepare` added
        assert roles[slug] == ok_roles
        # A fact's events chain their values: each one's old value is the previous one's new value.
        fact_events = [e["data"] for e in mine if e["kind"] == "fact_set"]
        previous = None
        for data in fact_events:
            assert data["old"] == previous, ("stale old value", slug, data, previous)
            previous = data["new"]
        assert (int(facts[slug]) if slug in facts else None) == previous
        # Transitions never contradict each other: each starts where the previous one ended,
        # and a refusal names the state the case was really in when it was recorded.
        moves = [(e["from_state"], e["to_state"]) for e in mine if e["kind"] == "transition"]
        state = "verkenning"
        for e in mine:
            if e["kind"] == "transition":
                assert e["from_state"] == state, ("contradictory transitions", slug, moves)
                state = e["to_state"]
            elif e["kind"] == "refused":
                assert e["from_state"] == state, ("refusal recorded for a state the case had left",
                                                  slug, e["seq"], e["from_state"], state)
        assert cases[rid] == state


# --- two coordinators, one case, one decision ------------------------------------------------


def test_two_processes_advancing_one_case_on_postgresql_make_one_transition(
    tmp_path: Path, pg_url: str, bytecode_cache: Path
) -> None:
    """Both decide on the same snapshot; the region lock held by the test makes them queue."""
    app = Onderwijsflow.open(db=pg_url, actor="setup")
    try:
        app.init()
        prepare(app, "twente")
    finally:
        app.close()
    before = event_counts(pg_url)["twente"]

    tag = f"race-{uuid.uuid4().hex[:8]}"
    url = f"{pg_url}&application_name={tag}"
    database = Database(pg_url)
    try:
        with database.connect() as holder:
            transaction = holder.begin()
            holder.execute(text("SELECT id FROM regions WHERE slug = 'twente' FOR UPDATE"))
            racers = [subprocess.Popen(
                [sys.executable, "-m", "onderwijsflow", "--db", url, "--actor", actor, "advance",
                 "twente", "dien_aanvraag_in", "--json"],
                cwd=tmp_path, env=child_env(bytecode_cache), text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for actor in ("anne", "bert")]
            try:
                wait_until_blocked(database, tag, count=2)
            finally:
                transaction.commit()  # both have decided on the same snapshot; let them write
            results = [(p.wait(timeout=120), *p.communicate()) for p in racers]
    finally:
        database.dispose()

    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 5], results
    loser = next(err for code, _, err in results if code == 5)
    assert loser.strip().splitlines() == [
        "error: region 'twente' changed while you worked on it; nothing was written, try again"]
    winner = json.loads(next(out for code, out, _ in results if code == 0))
    assert (winner["from"], winner["to"], winner["ok"]) == ("verkenning", "aanvraag_ingediend", True)

    app = Onderwijsflow.open(db=pg_url, actor="setup")
    try:
        events = app.history("twente", all_events=True)["events"]
        assert [e["kind"] for e in events[before:]] == ["transition"]  # the loser wrote nothing
        assert app.show_region("twente")["cases"]["regiovorming"]["state"] == "aanvraag_ingediend"
        assert app.verify_audit()["ok"]
    finally:
        app.close()


def wait_until_blocked(database: Database, application_name: str, *, count: int) -> None:
    """Wait until `count` sessions named `application_name` wait for a lock."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with database.session(write=False) as session:
            waiting = session.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                "AND wait_event_type = 'Lock'"), {"name": application_name}).scalar_one()
        if waiting >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the racers never both waited for the region lock ({waiting} did)")


# --- a refusal is recorded as things are when it is written ------------------------------------


@pytest.mark.parametrize(
    ("trigger", "outcome"),
    [
        # From verkenning impossible; once the case moved, allowed: the user lost a race.
        ("zet_in_oprichting", "Conflict"),
        # Refused either way: recorded with the state and evidence of the moment it is written.
        (ALWAYS_REFUSED, "Refused"),
    ],
)
def test_a_refusal_decided_on_a_stale_snapshot_is_decided_again(
    backend_url: str, monkeypatch: pytest.MonkeyPatch, trigger: str, outcome: str
) -> None:
    import onderwijsflow.service.cases as cases
    from onderwijsflow.errors import Conflict, Refused

    anne = Onderwijsflow.open(db=backend_url, actor="anne")
    bert = Onderwijsflow.open(db=backend_url, actor="bert")
    try:
        anne.init()
        prepare(anne, "twente")
        before = len(anne.history("twente", all_events=True)["events"])
        decide = cases._decision_json
        raced: list[bool] = []

        def meanwhile(*args: Any, **kwargs: Any) -> Any:
            # Called after anne's read transaction closed and before her write one opens.
            if not raced:
                raced.append(True)
                bert.advance("twente", "dien_aanvraag_in")
            return decide(*args, **kwargs)

        monkeypatch.setattr(cases, "_decision_json", meanwhile)
        with pytest.raises(Conflict if outcome == "Conflict" else Refused) as raised:
            anne.advance("twente", trigger)
        monkeypatch.setattr(cases, "_decision_json", decide)

        new = anne.history("twente", all_events=True)["events"][before:]
        assert (new[0]["kind"], new[0]["actor"]) == ("transition", "bert")
        if outcome == "Conflict":
            assert raised.value.exit_code == 5
            assert "nothing was written" in str(raised.value)
            assert len(new) == 1
        else:
            result = raised.value.details["result"]
            assert (result["from"], result["code"]) == ("aanvraag_ingediend", "unmet")
            [refusal] = new[1:]
            assert (refusal["kind"], refusal["actor"], refusal["from"]) == (
                "refused", "anne", "aanvraag_ingediend")
            assert refusal["data"]["code"] == "unmet"  # not "impossible from verkenning"
        assert anne.verify_audit()["ok"]
    finally:
        anne.close()
        bert.close()
