"""`import regions FILE.csv` (design §4, §6): files as Excel writes them, all bad rows at once,
all or nothing, re-imports that change nothing, additive updates that are audited.

Every test runs on a real SQLite file and on PostgreSQL (when ``ONDERWIJSFLOW_TEST_PG`` is
set); the "nothing was written" checks count the rows of every table the import touches.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from onderwijsflow.cli import cli, main
from onderwijsflow.cli.importing import PROGRESS_FROM
from onderwijsflow.cli.output import ProgressBar
from onderwijsflow.clock import Clock
from onderwijsflow.errors import Conflict, OnderwijsflowError, Refused, UsageError
from onderwijsflow.service import Onderwijsflow

DATA = Path(__file__).parent / "data"
T0 = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)
TABLES = ("regions", "cases", "partners", "role_assignments", "facts", "events", "milestones", "reminders")

# A workflow with a fact of every type and a milestone in its initial state, so that opening
# a case plans something (the import must do what `region create` does).
PILOT = """\
workflow: pilot
version: 1
title: Pilot (test)
initial: verkenning
facts:
  leerlingen: {type: int}
  bedrag: {type: decimal}
  startdatum: {type: date}
  akkoord: {type: bool}
  fase: {type: string, choices: [verkenning, pilot]}
  notitie: {type: string}
states:
  verkenning: {label: Verkenning}
  pilot: {label: Pilot, final: true}
transitions:
  - {trigger: start, source: verkenning, dest: pilot}
milestones:
  - name: eerste_gesprek
    due: {after: P6W}
    active_in: [verkenning]
    remind: [P7D, P1D]
    notify: [coordinator]
"""

HEADER = "slug,name,provinces,sectors,coordinator,partners,people,fact:leerlingen,fact:bedrag,fact:akkoord"
TWENTE = ("twente,Twente,Overijssel|Gelderland,PO|VO,anne@re.example,"
          "Saxion Pabo:lerarenopleiding|AOb:vakbond|Stichting Keender:schoolbestuur:PO,"
          "programmamanager:Mira Oost:mira@twente.example|contactpersoon:Els,1200,\"1234,50\",ja")
RIJNMOND = "rijnmond,Rijnmond,Zuid-Holland,mbo,,Hogeschool Rotterdam:lerarenopleiding,,,,"


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    directory = tmp_path / "workflows"
    directory.mkdir()
    (directory / "pilot.yaml").write_text(PILOT, encoding="utf-8")
    return directory


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("simulated_clock: true\nstart_with_region: [pilot]\n", encoding="utf-8")
    return path


Factory = Callable[..., Onderwijsflow]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database, once SQLite and once PostgreSQL (when ``ONDERWIJSFLOW_TEST_PG`` is set)."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def make_app(db_url: str, workflows: Path, config: Path) -> Iterator[Factory]:
    """Apps on the test workflows and the test's database; all closed at the end."""
    apps: list[Onderwijsflow] = []

    def make(*, actor: str = "anne", config_file: Path | None = None) -> Onderwijsflow:
        app = Onderwijsflow.open(db=db_url, config=config_file or config, workflows=workflows, actor=actor)
        app.clock = Clock(T0)
        app.init()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: Factory) -> Onderwijsflow:
    return make_app()


def write(tmp_path: Path, text: str, *, name: str = "regions.csv", bom: bool = False,
          encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def query(app: Onderwijsflow, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the database, past the library."""
    with app.db.session(write=False) as session:
        return [tuple(row) for row in session.execute(sql(statement), params)]


def counts(app: Onderwijsflow) -> dict[str, int]:
    """Rows per table the import may touch."""
    return {table: query(app, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def events(app: Onderwijsflow, slug: str) -> list[dict[str, Any]]:
    return app.history(slug, all_events=True)["events"]


def kinds(app: Onderwijsflow, slug: str) -> list[str]:
    return [e["kind"] for e in events(app, slug)]


def event_data(app: Onderwijsflow, slug: str) -> list[tuple[Any, ...]]:
    """Every stored event field of a region but ids, hashes and the wall-clock time."""
    rows = query(app, "SELECT e.kind, e.workflow, e.trigger, e.from_state, e.to_state, e.actor, e.reason, "
                      "e.at, e.data, c.workflow FROM events e JOIN regions r ON r.id = e.region_id "
                      "LEFT JOIN cases c ON c.id = e.case_id WHERE r.slug = :slug ORDER BY e.seq", slug=slug)
    return [(*row[:8], row[8] if isinstance(row[8], dict) else json.loads(row[8]), row[9]) for row in rows]


def planned(app: Onderwijsflow, slug: str) -> list[tuple[Any, ...]]:
    """The milestones and reminders of a region's cases, as stored."""
    return query(app, "SELECT m.workflow, m.name, m.occurrence, m.due_at, m.status, m.planned_at, "
                      "r.kind, r.\"offset\", r.due_at, r.status FROM milestones m "
                      "JOIN reminders r ON r.milestone_id = m.id JOIN regions g ON g.id = m.region_id "
                      "WHERE g.slug = :slug ORDER BY r.id", slug=slug)


def without_times(shown: dict[str, Any]) -> dict[str, Any]:
    shown = dict(shown)
    shown["cases"] = {w: {k: v for k, v in c.items() if k not in ("opened", "entered")}
                      for w, c in shown["cases"].items()}
    return shown


def problems_of(err: pytest.ExceptionInfo[UsageError]) -> list[str]:
    return err.value.details["problems"]


# --- files as Excel writes them ------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_comma_and_semicolon_files_with_and_without_bom(
    app: Onderwijsflow, tmp_path: Path, delimiter: str, bom: bool, newline: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    for line in csv.reader([HEADER, TWENTE, RIJNMOND]):
        writer.writerow(line)
    result = app.import_regions(write(tmp_path, buffer.getvalue(), bom=bom))
    assert result["created"] == ["twente", "rijnmond"]
    assert (result["updated"], result["unchanged"]) == ([], [])
    twente = app.show_region("twente")
    assert twente["name"] == "Twente"
    assert twente["provinces"] == ["Overijssel", "Gelderland"]
    assert twente["sectors"] == ["PO", "VO"]
    assert twente["coordinator"] == "anne@re.example"
    assert twente["partners"] == [
        {"name": "AOb", "kind": "vakbond", "sector": None},
        {"name": "Saxion Pabo", "kind": "lerarenopleiding", "sector": None},
        {"name": "Stichting Keender", "kind": "schoolbestuur", "sector": "PO"},
    ]
    assert twente["roles"] == [
        {"role": "contactpersoon", "person": "Els", "email": None},
        {"role": "programmamanager", "person": "Mira Oost", "email": "mira@twente.example"},
    ]
    assert twente["facts"] == {"akkoord": True, "bedrag": "1234.50", "leerlingen": 1200}
    assert twente["cases"]["pilot"]["state"] == "verkenning"
    assert app.show_region("rijnmond")["sectors"] == ["MBO"]


def test_the_sample_file_imports_with_the_shipped_workflows(db_url: str) -> None:
    app = Onderwijsflow.open(db=db_url, actor="anne")
    try:
        app.init()
        result = app.import_regions(DATA / "regions.csv")
        assert result["created"] == ["zuidoost-brabant", "twente", "rijnmond"]
        shown = app.show_region("zuidoost-brabant")
        assert shown["cases"]["regiovorming"]["state"] == "verkenning"
        assert shown["facts"] == {"leerlingen_po": 42000, "leerlingen_vo": 31000}
        assert len(shown["partners"]) == 3 and len(shown["roles"]) == 2
        assert app.verify_audit()["ok"]
    finally:
        app.close()


def test_list_items_may_be_separated_by_line_breaks_within_a_cell(app: Onderwijsflow, tmp_path: Path) -> None:
    text = ('slug;name;partners;people\n'
            'twente;Twente;"Saxion Pabo:lerarenopleiding\nAOb:vakbond";"contactpersoon:Els\r\n'
            'programmamanager:Mira"\n'
            'rijnmond;Rijnmond;Oops;\n')
    with pytest.raises(UsageError) as err:
        app.import_regions(write(tmp_path, text))
    # The bad row starts on line 5: the quoted cells of the row before it span lines 2 to 4.
    assert problems_of(err) == ["regions.csv:5: partner 'Oops' must be Naam:kind or Naam:kind:sector"]
    app.import_regions(write(tmp_path, text.replace("Oops", "Hogeschool Rotterdam:lerarenopleiding")))
    assert [p["name"] for p in app.show_region("twente")["partners"]] == ["AOb", "Saxion Pabo"]
    assert len(app.show_region("twente")["roles"]) == 2


def test_columns_are_case_insensitive_in_any_order_and_empty_rows_are_skipped(
    app: Onderwijsflow, tmp_path: Path
) -> None:
    text = " Name ;SLUG;Fact:fase;;\n\nTwente;twente;pilot;;\n;;;;\n"
    assert app.import_regions(write(tmp_path, text))["created"] == ["twente"]
    assert app.show_region("twente")["facts"] == {"fase": "pilot"}


def test_a_header_only_file_imports_nothing(app: Onderwijsflow, tmp_path: Path) -> None:
    before = counts(app)
    result = app.import_regions(write(tmp_path, "slug,name\n"))
    assert (result["rows"], result["created"]) == (0, [])
    assert counts(app) == before


# --- every bad row, and nothing written ----------------------------------------------------------


BAD = """\
slug,name,sectors,coordinator,partners,people,fact:leerlingen,fact:startdatum,fact:fase
twente,Twente,PO,anne@re.example,Pabo:lerarenopleiding,,12,2024-09-01,pilot
Rijnmond,Rijnmond,P0,anne,Pabo:lerarenopleding,programmamanager:Jan:jan@,veel,1/9/2024,klaar
ok,OK,,,Pabo,baas:Jan,,,
ok,Dubbel,,,,,,,
,Zonder slug,,,,,,,
zonder-naam,,,,,,,,
twee-keer,Twee,,,A:overig|A:gemeente,contactpersoon:Els|contactpersoon:Els,,,
"""


def test_all_bad_rows_are_reported_with_their_line_numbers_and_nothing_is_written(
    app: Onderwijsflow, tmp_path: Path
) -> None:
    app.create_region("bestaand", name="Bestaand")
    before = counts(app)
    with pytest.raises(UsageError) as err:
        app.import_regions(write(tmp_path, BAD))
    problems = problems_of(err)
    assert [p.split(": ", 1)[0] for p in problems] == (
        ["regions.csv:3"] * 8 + ["regions.csv:4"] * 2 + ["regions.csv:5", "regions.csv:6",
                                                         "regions.csv:7"] + ["regions.csv:8"] * 2)
    text = "\n".join(problems)
    for fragment in ("'Rijnmond' is not a valid slug", "unknown sector 'P0'", "'anne' (coordinator) is "
                     "not an e-mail address", "unknown partner kind 'lerarenopleding' (did you mean "
                     "'lerarenopleiding'?)", "'jan@' (e-mail of Jan) is not an e-mail address",
                     "fact 'leerlingen': expected a whole number, got 'veel'",
                     "fact 'startdatum': expected a date YYYY-MM-DD", "fact 'fase' must be one of "
                     "verkenning, pilot", "partner 'Pabo' must be Naam:kind", "unknown role 'baas'",
                     "region 'ok' appears again (first on line 4)", "no slug", "no name",
                     "partner 'A' is listed twice", "Els is listed twice as contactpersoon"):
        assert fragment in text
    assert str(err.value) == f"{problems[0]} (and {len(problems) - 1} more problems; nothing was imported)"
    assert err.value.exit_code == 2
    assert counts(app) == before


def test_header_problems_are_reported_with_suggestions(app: Onderwijsflow, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        app.import_regions(write(tmp_path, "slug,naam,fact:leerling,partners,partners\nx,X,1,,\n"))
    assert problems_of(err) == [
        "regions.csv:1: unknown column 'naam' (did you mean 'name'?); columns are slug, name, provinces, "
        "sectors, coordinator, partners, people and fact:NAME",
        "regions.csv:1: column 'fact:leerling': no workflow declares a fact 'leerling' "
        "(did you mean 'leerlingen'?)",
        "regions.csv:1: column 'partners' appears twice",
        "regions.csv:1: no column 'name'; the first line must name the columns, "
        "e.g. slug,name,provinces,sectors,coordinator,partners,people",
    ]


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "regions.csv:1: the file is empty"),
    (b"\xef\xbb\xbf", "regions.csv:1: the file is empty"),
    (b"slug,name\ntwente,Twente\nzuid,Caf\xe9\n", "regions.csv:3: the file is not UTF-8 text; in Excel "
                                                  "save it as 'CSV UTF-8"),
    (b"\xff\xfes\x00l\x00u\x00g\x00", "regions.csv:1: the file is not UTF-8 text"),
    (b"slug\tname\ntwente\tTwente\n", "regions.csv:1: the file is separated by tabs"),
    (b'slug,name\ntwente,"Twente\n', "regions.csv:2: the CSV cannot be read here"),
    (b'slug,name\ntwente,"Twente"x\n', "regions.csv:2: the CSV cannot be read here"),
    (b"slug,name\ntwente,Twente,extra\n", "regions.csv:2: a value in column 3, beyond the columns"),
    (b"slug,name\ntwente,Twen\x00te\n", "regions.csv:2: name 'Twen\x00te' contains a line break or "
                                        "control character"),
    (b'slug,name\ntwente,"Twen\nte"\n', "regions.csv:2: name 'Twen te' contains a line break"),
])
def test_unreadable_files_get_one_clear_error(
    app: Onderwijsflow, tmp_path: Path, content: bytes, problem: str
) -> None:
    before = counts(app)
    path = tmp_path / "regions.csv"
    path.write_bytes(content)
    with pytest.raises(UsageError) as err:
        app.import_regions(path)
    assert str(err.value).startswith(problem)
    assert counts(app) == before


def test_a_missing_file_is_a_usage_error(app: Onderwijsflow, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        app.import_regions(tmp_path / "nope.csv")


def test_an_actor_who_may_not_write_is_refused_before_anything_is_written(
    make_app: Factory, tmp_path: Path
) -> None:
    config = tmp_path / "actors.yaml"
    config.write_text("simulated_clock: true\nstart_with_region: [pilot]\n"
                      "actors:\n  piet: {roles: [auditor]}\n", encoding="utf-8")
    app = make_app(actor="piet", config_file=config)
    before = counts(app)
    with pytest.raises(Refused, match="may not write"):
        app.import_regions(write(tmp_path, f"{HEADER}\n{TWENTE}\n"))
    assert counts(app) == before


# --- what is written -----------------------------------------------------------------------------


def test_an_import_writes_what_the_single_commands_write(app: Onderwijsflow, tmp_path: Path) -> None:
    text = f"{HEADER},fact:startdatum,fact:fase\n{TWENTE},2025-01-01,pilot\n"
    before = counts(app)
    app.import_regions(write(tmp_path, text))
    imported = {table: n - before[table] for table, n in counts(app).items()}
    app.create_region("hand", name="Twente", provinces=["Overijssel", "Gelderland"],
                      sectors=["PO", "VO"], coordinator="anne@re.example")
    app.add_partner("hand", "Saxion Pabo", kind="lerarenopleiding")
    app.add_partner("hand", "AOb", kind="vakbond")
    app.add_partner("hand", "Stichting Keender", kind="schoolbestuur", sector="PO")
    app.assign_role("hand", "programmamanager", "Mira Oost", email="mira@twente.example")
    app.assign_role("hand", "contactpersoon", "Els")
    for name, value in (("leerlingen", "1200"), ("bedrag", "1234,50"), ("akkoord", "ja"),
                        ("startdatum", "2025-01-01"), ("fase", "pilot")):
        app.set_fact("hand", name, value)
    both = {table: n - before[table] for table, n in counts(app).items()}
    assert both == {table: 2 * n for table, n in imported.items()}
    by_hand = without_times(app.show_region("hand"))
    assert without_times(app.show_region("twente")) == {**by_hand, "slug": "twente"}
    assert event_data(app, "twente") == event_data(app, "hand")
    assert planned(app, "twente") == planned(app, "hand") != []
    assert app.verify_audit()["ok"]


def test_audit_verify_is_ok_after_an_import_and_an_update(app: Onderwijsflow, tmp_path: Path) -> None:
    app.create_region("twente", name="Twente")
    app.advance("twente", "start")
    app.import_regions(write(tmp_path, f"{HEADER}\n{TWENTE}\n{RIJNMOND}\n"))
    report = app.verify_audit()
    assert report["ok"] and report["regions"] == 2
    assert kinds(app, "twente")[:3] == ["region_created", "case_opened", "transition"]


def test_reimporting_the_same_file_changes_nothing(app: Onderwijsflow, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{TWENTE}\n{RIJNMOND}\n")
    app.import_regions(path)
    before = counts(app)
    result = app.import_regions(path)
    assert (result["created"], result["updated"], result["unchanged"]) == ([], [], ["twente", "rijnmond"])
    assert counts(app) == before


def test_existing_regions_are_updated_additively_and_every_change_is_audited(
    app: Onderwijsflow, tmp_path: Path
) -> None:
    app.import_regions(write(tmp_path, f"{HEADER}\n{TWENTE}\n{RIJNMOND}\n"))
    app.add_partner("twente", "Gemeente Enschede", kind="gemeente")
    before = len(events(app, "twente"))
    edited = (f"{HEADER}\n"
              "twente,Twente-Achterhoek,Overijssel|Drenthe,po|MBO,,"
              "Saxion Pabo:lerarenopleiding|AOb:beroepsgroep|Stichting Keender:schoolbestuur|"
              "Lerarenpanel:overig,"
              "programmamanager:Mira Oost:mira@regio.example|contactpersoon:Els|projectleider:Bo,1200,1300,\n"
              f"{RIJNMOND}\n")
    result = app.import_regions(write(tmp_path, edited, name="edited.csv"))
    assert (result["updated"], result["unchanged"]) == (["twente"], ["rijnmond"])
    new = event_data(app, "twente")[before:]
    assert [(row[0], row[8]) for row in new] == [
        ("region_updated", {"old": {"name": "Twente", "provinces": ["Overijssel", "Gelderland"],
                                    "sectors": ["PO", "VO"]},
                            "new": {"name": "Twente-Achterhoek",
                                    "provinces": ["Overijssel", "Gelderland", "Drenthe"],
                                    "sectors": ["PO", "VO", "MBO"]}}),
        ("partner_removed", {"old": {"name": "AOb", "kind": "vakbond", "sector": None}}),
        ("partner_added", {"new": {"name": "AOb", "kind": "beroepsgroep", "sector": None}}),
        ("partner_added", {"new": {"name": "Lerarenpanel", "kind": "overig", "sector": None}}),
        ("role_unassigned", {"old": {"role": "programmamanager", "person": "Mira Oost",
                                     "email": "mira@twente.example"}}),
        ("role_assigned", {"new": {"role": "programmamanager", "person": "Mira Oost",
                                   "email": "mira@regio.example"}}),
        ("role_assigned", {"new": {"role": "projectleider", "person": "Bo", "email": None}}),
        ("fact_set", {"name": "bedrag", "old": "1234.50", "new": "1300"}),
    ]
    shown = app.show_region("twente")
    # Nothing is removed: the partner added by hand stays, the coordinator (empty cell) too,
    # and the sector of Stichting Keender (not given this time) is kept.
    assert {p["name"]: (p["kind"], p["sector"]) for p in shown["partners"]} == {
        "AOb": ("beroepsgroep", None), "Gemeente Enschede": ("gemeente", None),
        "Lerarenpanel": ("overig", None), "Saxion Pabo": ("lerarenopleiding", None),
        "Stichting Keender": ("schoolbestuur", "PO")}
    assert shown["coordinator"] == "anne@re.example"
    assert shown["facts"] == {"akkoord": True, "bedrag": "1300", "leerlingen": 1200}
    assert app.verify_audit()["ok"]
    again = app.import_regions(write(tmp_path, edited, name="edited.csv"))
    assert again["unchanged"] == ["twente", "rijnmond"]


def test_progress_is_reported_per_batch(app: Onderwijsflow, tmp_path: Path) -> None:
    rows = "\n".join(f"regio-{i},Regio {i}" for i in range(1203))
    seen: list[tuple[int, int]] = []
    app.import_regions(write(tmp_path, f"slug,name\n{rows}\n"), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 1203), (500, 1203), (1000, 1203), (1203, 1203)]
    assert counts(app)["regions"] == 1203
    assert app.verify_audit()["ok"]


def test_two_imports_at_once_never_double_a_region_or_break_a_chain(
    make_app: Factory, tmp_path: Path
) -> None:
    rows = "\n".join(f"regio-{i},Regio {i},,,,Pabo {i}:lerarenopleiding,,{i},," for i in range(300))
    path = write(tmp_path, f"{HEADER}\n{rows}\n")
    apps = [make_app(), make_app()]
    outcomes: list[Any] = [None, None]

    def run(index: int) -> None:
        try:
            outcomes[index] = apps[index].import_regions(path)
        except Conflict as err:  # the loser on PostgreSQL: nothing written
            outcomes[index] = err
        except Exception as err:  # anything else fails below, and the message shows what it was
            outcomes[index] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = [o for o in outcomes if isinstance(o, dict)]
    assert results and all(isinstance(o, dict | Conflict) for o in outcomes), outcomes
    # Whoever came second either saw every region in place or wrote nothing at all.
    assert sorted(len(r["created"]) for r in results) in ([300], [0, 300])
    assert counts(apps[0])["regions"] == 300
    assert counts(apps[0])["events"] == 300 * 4
    assert apps[0].verify_audit()["ok"]


def test_a_second_batch_that_fails_leaves_nothing_of_the_first(
    make_app: Factory, tmp_path: Path, db_url: str
) -> None:
    """1,100 regions are three batches; a region of the second is created meanwhile by someone
    else. On PostgreSQL that someone commits it from another connection while the import
    runs; SQLite serializes writers, so there the same unique-slug failure is raised by the
    second batch's write. Either way: a Conflict, nothing of batch one left, chains intact."""
    from onderwijsflow.service import importing

    app = make_app()
    rows = "\n".join(f"regio-{i},Regio {i},,,,Pabo {i}:lerarenopleiding,,{i},," for i in range(1100))
    path = write(tmp_path, f"{HEADER}\n{rows}\n")
    before = counts(app)
    if app.db.is_sqlite:
        original = importing._Batch.write
        calls: list[int] = []

        def second_fails(self: Any, session: Any) -> None:
            calls.append(1)
            original(self, session)
            if len(calls) == 2:
                from sqlalchemy.exc import IntegrityError

                raise IntegrityError("INSERT INTO regions", {}, Exception("UNIQUE constraint failed"))

        importing._Batch.write = second_fails  # type: ignore[method-assign]
        try:
            with pytest.raises(Conflict):
                app.import_regions(path)
        finally:
            importing._Batch.write = original  # type: ignore[method-assign]
        assert len(calls) == 2  # the first batch was written, in the transaction that rolled back
    else:
        other = make_app(actor="bert")
        seen: list[tuple[int, int]] = []
        seen_committed: list[dict[str, int]] = []

        def meanwhile(done: int, total: int) -> None:
            seen.append((done, total))
            if done == 500:  # after the first batch, in the import's open transaction
                other.create_region("regio-700", name="Regio 700 (by hand)")
                seen_committed.append(counts(other))  # the import's rows are not committed

        with pytest.raises(Conflict):
            app.import_regions(path, progress=meanwhile)
        assert (500, 1100) in seen
        assert seen_committed[0]["regions"] == before["regions"] + 1
        before = seen_committed[0]  # the hand-made region, and nothing of the import
    assert counts(app) == before
    assert app.verify_audit()["ok"]


# --- the command line ----------------------------------------------------------------------------


def invoke(app: Onderwijsflow, workflows: Path, config: Path, *args: str) -> Any:
    env = {"ONDERWIJSFLOW_DB": app.db_url, "ONDERWIJSFLOW_WORKFLOWS": str(workflows),
           "ONDERWIJSFLOW_CONFIG": str(config), "ONDERWIJSFLOW_ACTOR": "anne",
           "ONDERWIJSFLOW_NOW": "2024-09-02T10:00"}
    with CliRunner().isolation(env=env) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    return SimpleNamespace(exit_code=code, stdout=out.getvalue().decode(),
                           stderr=err.getvalue().decode(), output=out.getvalue().decode())


def test_cli_json_prints_one_document_with_the_slugs(
    app: Onderwijsflow, tmp_path: Path, workflows: Path, config: Path
) -> None:
    path = write(tmp_path, f"{HEADER}\n{TWENTE}\n")
    first = invoke(app, workflows, config, "import", "regions", str(path), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"created": ["twente"], "updated": [], "unchanged": [],
                                        "rows": 1, "file": str(path), "dry_run": False}
    assert first.stderr == ""
    again = invoke(app, workflows, config, "import", "regions", str(path))
    assert again.exit_code == 0
    assert again.stdout.strip() == "regions.csv: 0 created, 0 updated, 1 unchanged"


def test_cli_prints_every_bad_row_on_its_own_line_and_exits_2(
    app: Onderwijsflow, tmp_path: Path, workflows: Path, config: Path
) -> None:
    before = counts(app)
    result = invoke(app, workflows, config, "import", "regions", str(write(tmp_path, BAD)), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 15 and all(line.startswith("error: regions.csv:") for line in lines)
    assert lines[0].endswith("(and 14 more problems; nothing was imported)")
    assert counts(app) == before


def test_cli_through_main_maps_a_single_problem_to_exit_2(
    app: Onderwijsflow, tmp_path: Path, workflows: Path, config: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (("DB", app.db_url), ("WORKFLOWS", str(workflows)), ("CONFIG", str(config))):
        monkeypatch.setenv(f"ONDERWIJSFLOW_{name}", value)
    with pytest.raises(SystemExit) as done:
        main(["import", "regions", str(tmp_path / "nope.csv")])
    assert done.value.code == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope.csv'}: no such file (nothing was imported)\n"


def test_the_progress_bar_shows_only_for_large_files_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ProgressBar("importing", enabled=False, above=PROGRESS_FROM) as bar:
        bar(500, 1000)
    with ProgressBar("importing", enabled=True, above=PROGRESS_FROM) as bar:
        bar(200, 200)
    assert bar._progress is None
    with ProgressBar("importing", enabled=True, above=PROGRESS_FROM) as bar:
        bar(500, 1000)
        bar(1000, 1000)
        assert bar._progress is not None
    assert capsys.readouterr().out == ""


def test_the_help_documents_the_format() -> None:
    result = CliRunner().invoke(cli, ["import", "regions", "--help"])
    assert result.exit_code == 0
    for fragment in ("slug", "Naam:kind[:sector]", "role:Naam[:e-mail]", "fact:NAME", "semicolon", "BOM"):
        assert fragment in result.output


# --- random files: an answer or a usage error, never half an import ------------------------------

WORDS = ["twente", "rijnmond", "Twente", "x", "PO", "vo", "Pabo:lerarenopleiding", "AOb:vakbond:PO",
         "A:overig|B:gemeente", "programmamanager:Jan:jan@x.nl", "contactpersoon:Els", "12", "1,5",
         "ja", "2024-01-01", "pilot", "anne@re.example", "", " ", "fact:leerlingen", "slug", "name"]
COLUMN_NAMES = ["slug", "name", "provinces", "sectors", "coordinator", "partners", "people",
                "fact:leerlingen", "fact:bedrag", "fact:akkoord", "fact:startdatum", "fact:fase",
                "Slug", "bogus", ""]
cells = st.one_of(st.sampled_from(WORDS),
                  st.text(alphabet=st.sampled_from(list("ab-AZ09 ,;\"'|:@.\n\r\t\x00é€")), max_size=10))


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.sampled_from(COLUMN_NAMES), max_size=8))
    if draw(st.booleans()):
        header = ["slug", "name", *header]
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 1), max_size=5))
    delimiter = draw(st.sampled_from([",", ";"]))
    if draw(st.booleans()):  # well quoted, as Excel writes it
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter,
                            lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
                            quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
        writer.writerows([header, *rows])
        text = buffer.getvalue()
    else:  # joined by hand: stray quotes and line breaks wherever they fall
        text = "\n".join(delimiter.join(row) for row in [header, *rows])
    return draw(st.sampled_from(["", "\ufeff"])) + text


GOOD = {
    "slug": st.sampled_from(["twente", "rijnmond", "regio-1", "zuidoost-brabant", "fryslan", "utrecht-2"]),
    "name": st.text(alphabet=st.sampled_from(list("Abc -éß,;\"'")), min_size=1, max_size=12),
    "provinces": st.sampled_from(["", "Overijssel", "Overijssel|Gelderland", "Zuid-Holland"]),
    "sectors": st.sampled_from(["", "PO", "po|VO", "MBO|HO", "VSO"]),
    "coordinator": st.sampled_from(["", "anne@re.example", "piet@re.example"]),
    "partners": st.sampled_from(["", "Pabo:lerarenopleiding", "AOb:vakbond|Pabo:overig",
                                 "Stichting, Oost:schoolbestuur:PO\nAOb:beroepsgroep"]),
    "people": st.sampled_from(["", "contactpersoon:Els", "programmamanager:Mira:mira@x.nl",
                               "programmamanager:Mira:mira@y.nl|projectleider:Bo"]),
    "fact:leerlingen": st.sampled_from(["", "12", "1_000", "13"]),
    "fact:bedrag": st.sampled_from(["", "1,5", "1.50", "100000"]),
    "fact:akkoord": st.sampled_from(["", "ja", "nee", "true"]),
    "fact:startdatum": st.sampled_from(["", "2024-01-01", "2025-06-30"]),
    "fact:fase": st.sampled_from(["", "pilot", "verkenning"]),
}


@st.composite
def mostly_good_csv_texts(draw: st.DrawFn) -> str:
    """Valid files, sometimes with one cell spoilt: the writing path gets exercised too."""
    columns = ["slug", "name", *draw(st.sets(st.sampled_from(sorted(set(GOOD) - {"slug", "name"}))))]
    rows = draw(st.lists(st.fixed_dictionaries({c: GOOD[c] for c in columns}), min_size=1, max_size=4,
                         unique_by=lambda r: r["slug"]))
    cells_of = [[row[c] for c in columns] for row in rows]
    if cells_of and draw(st.integers(0, 2)) == 0:
        spoilt = draw(st.sampled_from(cells_of))
        spoilt[draw(st.integers(0, len(columns) - 1))] = draw(cells)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=draw(st.sampled_from([",", ";"]))).writerows([columns, *cells_of])
    return draw(st.sampled_from(["", "\ufeff"])) + buffer.getvalue()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.one_of(mostly_good_csv_texts(), csv_texts(), st.text(max_size=80)))
def test_random_files_give_a_result_or_a_usage_error_and_never_half_an_import(
    app: Onderwijsflow, tmp_path: Path, text: str
) -> None:
    path = tmp_path / "random.csv"
    path.write_text(text, encoding="utf-8", newline="")
    before = counts(app)
    try:
        result = app.import_regions(path)
    except OnderwijsflowError as err:
        assert isinstance(err, UsageError), err
        event("usage error")
        assert err.details["problems"] and str(err).startswith(err.details["problems"][0])
        assert counts(app) == before
        return
    event(f"imported, {'some' if result['rows'] else 'no'} rows")
    assert counts(app)["regions"] == before["regions"] + len(result["created"])
    assert len(result["created"]) + len(result["updated"]) + len(result["unchanged"]) == result["rows"]
    after = counts(app)
    again = app.import_regions(path)
    assert (again["created"], again["updated"]) == ([], [])
    assert counts(app) == after
    assert app.verify_audit()["ok"]


def test_a_dry_run_reports_what_would_change_and_writes_nothing(app: Onderwijsflow, tmp_path: Path) -> None:
    file = write(tmp_path, "\n".join([HEADER, TWENTE, RIJNMOND]) + "\n")
    before = counts(app)
    looked = app.import_regions(file, dry_run=True)
    assert (looked["dry_run"], looked["created"], looked["updated"]) == (True, ["twente", "rijnmond"], [])
    assert counts(app) == before and app.list_regions() == []  # the transaction was rolled back
    done = app.import_regions(file)
    assert (done["dry_run"], done["created"]) == (False, looked["created"])
    again = app.import_regions(file, dry_run=True)
    assert (again["created"], again["unchanged"]) == ([], ["twente", "rijnmond"])
