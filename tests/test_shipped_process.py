"""The shipped workflows against the real process, driven through the command line in process.

Two eras, kept apart (shared/domain.md): the 2023 selection of pilot regions (`voorlopers`,
round "2023": decisions of OCW with the national partners and of the Bestuurlijk Overleg) and
the 2025 regulation (`subsidie` v2, round "2025": its conditions checked at
`dien_aanvraag_in`, DUS-I's decisions, the objection period from the decision date, the
activity period, the half-yearly peilgesprek), with the April 2025 top-up round (`aanvulling`,
round "2025-aanvulling") and the region's place in the network (`regiovorming` v2).

Every command runs through :func:`onderwijsflow.cli.main` (the click group
``onderwijsflow.cli.cli`` with the exit codes of design §4) with click's runner, against a real
SQLite file (and, for the replay and the 2023 selection, a PostgreSQL schema of its own), the
shipped ``workflows/`` and ``config/`` (read under a test configuration that allows the
simulated clock and delivers to a Maildir), and a clock the test sets (``ONDERWIJSFLOW_NOW``,
Europe/Amsterdam). Nothing sleeps: the scheduler runs as ``scheduler tick --json``.
"""

from __future__ import annotations

import json
import mailbox
import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import support

pytestmark = pytest.mark.shipped_workflows

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
SHIPPED = ("voorlopers", "subsidie", "regiovorming", "aanvulling")
THEMES = ("werven", "matchen", "opleiden", "begeleiden", "professionaliseren")

#: The conditions of the 2025 regulation and what only it asks: none of these may gate 2023.
REGULATION_2025 = ("aaneengesloten_gebied", "minimale_omvang", "opleidingsaantal_2023_2024",
                   "vestigingen_uniek", "samen_opleiden_uitgewerkt", "elk_thema_een_actie")
THRESHOLD_FACTS = ("leerlingen_po", "leerlingen_vo", "studenten_mbo", "opgeleide_studenten_2023",
                   "aaneengesloten_gebied", "landelijke_regio", "vestigingen_uniek")


def config_text(outbox: Path) -> str:
    """A test configuration on top of the shipped one: simulated clock, a Maildir outbox."""
    return textwrap.dedent(
        f"""\
        simulated_clock: true
        notify:
          sender: onderwijsflow@example.org
          channels:
            - {{type: maildir, path: {json.dumps(str(outbox))}}}
        """
    )


# --- running the CLI ----------------------------------------------------------------------------


class Flow(support.Flow):
    """The shared in-process CLI (``support.Flow``) on the shipped workflows."""

    def __init__(self, url: str, config: Path, now: str) -> None:
        super().__init__(url, config, WORKFLOWS, now)

    def refused(self, *args: str) -> dict[str, Any]:
        """A command with ``--json`` that must be refused (exit 3); its document."""
        run = self(*args, "--json")
        assert run.code == 3 and "Traceback" not in run.err, str(run)
        return run.json()

    def tick(self, at: str) -> dict[str, Any]:
        self.now = at
        return self.json("scheduler", "tick")

    def state(self, slug: str, key: str) -> str:
        return self.json("region", "show", slug)["cases"][key]["state"]

    def notices(self, slug: str, milestone: str) -> list[tuple[str, str]]:
        """(kind, at) of every reminder and overdue notice sent for the region's `milestone`."""
        return [(e["data"]["kind"], e["at"]) for e in self.events(slug)
                if e["kind"] == "reminder_sent" and e["data"].get("milestone") == milestone]

    def mail(self) -> list[tuple[str, str]]:
        """(To, Subject) of every message delivered to the test configuration's Maildir."""
        box = mailbox.Maildir(self.config.parent / "outbox", create=False)
        return [(str(m["To"]), str(m["Subject"])) for m in box]

    def deadline(self, slug: str, milestone: str) -> dict[str, Any]:
        """The region's first occurrence of `milestone` (``deadlines --json``)."""
        rows = [r for r in self.json("deadlines", "--region", slug)["deadlines"]
                if r["milestone"] == milestone]
        assert rows, f"{slug} has no {milestone} deadline"
        return min(rows, key=lambda r: r["due"])


def unmet(result: dict[str, Any]) -> list[str]:
    return [u["requirement"] for u in result["unmet"]]


def new_flow(url: str, directory: Path, now: str) -> Flow:
    config = directory / "onderwijsflow-test.yaml"
    config.write_text(config_text(directory / "outbox"), encoding="utf-8")
    flow = Flow(url, config, now)
    flow.ok("init")
    return flow


@pytest.fixture
def flow(backend_url: str, tmp_path: Path) -> Flow:
    """An initialised database (SQLite file, then PostgreSQL schema), the shipped workflows."""
    return new_flow(backend_url, tmp_path, "2024-03-01T10:00")


# --- bringing regions where a test needs them ------------------------------------------------------


def region(flow: Flow, slug: str) -> None:
    flow.ok("region", "create", slug, "--name", slug.title(), "--sector", "PO",
            "--coordinator", f"re-{slug}@example.org")


def prepare(flow: Flow, slug: str, *, paragraaf: bool = True,
            themes: Sequence[str] = THEMES) -> None:
    """A region whose 2025 application meets every condition of the regulation.

    A schoolbestuur, a lerarenopleiding and a vakbond; a contiguous area, 16,000 PO pupils,
    exactly 150 trainees in 2023/24, each location in one region; the plan, its Samen Opleiden
    section and the application; an actie per theme; programme manager and penvoerder; the amount.
    """
    name = slug.title()
    region(flow, slug)
    flow.ok("start", slug, "subsidie", "--round", "2025")
    flow.ok("partner", "add", slug, f"Stichting Primair {name}", "--kind", "schoolbestuur",
            "--sector", "PO")
    flow.ok("partner", "add", slug, f"Pabo {name}", "--kind", "lerarenopleiding")
    flow.ok("partner", "add", slug, "AOb", "--kind", "vakbond")
    for fact, value in (("aaneengesloten_gebied", "ja"), ("leerlingen_po", "16000"),
                        ("opgeleide_studenten_2023", "150"), ("vestigingen_uniek", "ja")):
        flow.ok("fact", "set", slug, fact, value)
    flow.ok("document", "add", slug, "plan_van_aanpak", "--title", f"Plan van aanpak {name}")
    if paragraaf:
        flow.ok("document", "add", slug, "paragraaf_samen_opleiden", "--title", "Samen Opleiden")
    # Dated in the window (17 June - 15 October 2024): only an application of this round counts.
    flow.ok("document", "add", slug, "subsidieaanvraag", "--title", f"Aanvraag 2025 {name}",
            "--date", "2024-09-30")
    for theme in themes:
        flow.ok("record", "add", slug, "actie", "--round", "2025", "--field", f"thema={theme}",
                "--field", f"omschrijving=SMART-actie {theme}", "--field", f"eigenaar=Pabo {name}")
    flow.ok("role", "assign", slug, "programmamanager", "Pia de Vries",
            "--email", f"pm@{slug}.example.org")
    flow.ok("role", "assign", slug, "penvoerder", f"Stichting Primair {name}",
            "--email", f"penvoerder@{slug}.example.org")
    flow.ok("fact", "set", slug, "aangevraagd_bedrag", "500000", "--round", "2025")


def decide(flow: Flow, slug: str, trigger: str, ref: str, date: str = "2025-01-20") -> dict[str, Any]:
    """DUS-I's beschikking of `date`, recorded now."""
    flow.ok("document", "add", slug, "beschikking", "--title", f"Beschikking {ref}", "--ref", ref,
            "--date", date)
    return flow.json("advance", slug, trigger, "--decided-by", "dus_i", "--decision-date", date,
                     "--decision-ref", ref)


def grant(flow: Flow, slug: str, ref: str) -> dict[str, Any]:
    flow.ok("fact", "set", slug, "toegekend_bedrag", "480000", "--round", "2025")
    return decide(flow, slug, "verleen", ref)


# --- 1. the 2024-25 round, replayed ----------------------------------------------------------------


def test_replay_of_the_2025_round(flow: Flow) -> None:
    # 1 March 2024: three regions ready to apply, oost that never will.
    for slug in ("noord", "zuid", "west"):
        prepare(flow, slug)
    region(flow, "oost")
    flow.ok("start", "oost", "subsidie", "--round", "2025")
    flow.ok("role", "assign", "oost", "penvoerder", "Stichting Oost", "--email", "pv@oost.example.org")

    # Before the window (17 June 2024, 09:00) only the window is missing.
    for now in ("2024-03-01T10:00", "2024-06-10T10:00", "2024-06-17T08:59"):
        flow.now = now
        refused = flow.refused("advance", "noord", "dien_aanvraag_in")
        assert (refused["ok"], refused["to"]) == (False, "voorbereiding")
        assert unmet(refused) == ["venster_open"], now
    flow.now = "2024-06-17T09:00"
    assert flow.json("advance", "noord", "dien_aanvraag_in", "--dry-run")["ok"] is True
    assert flow.state("noord", "subsidie/2025") == "voorbereiding"

    # The deadline: 15 October 2024, 16:00, with the Algemene termijnenwet.
    row = flow.deadline("noord", "deadline_aanvraag")
    assert (row["due"], row["status"]) == ("2024-10-15T16:00:00+02:00", "upcoming")
    assert row["reminders"] == ["P30D", "P14D", "P7D", "P1D"]

    # P30D falls on Sunday 15 September: sent on Friday 13 September, 09:00.
    assert flow.tick("2024-09-12T12:00")["queued"] == 0
    assert flow.tick("2024-09-13T08:59")["queued"] == 0
    tick = flow.tick("2024-09-13T09:00")
    assert (tick["queued"], tick["sent"], tick["failed"]) == (4, 4, 0), tick
    # P14D: Tuesday 1 October.
    assert flow.tick("2024-09-30T09:00")["queued"] == 0
    assert flow.tick("2024-10-01T09:00")["queued"] == 4
    flow.now = "2024-10-01T10:00"
    for slug in ("noord", "zuid", "west"):
        applied = flow.json("advance", slug, "dien_aanvraag_in")
        assert (applied["from"], applied["to"], applied["ok"]) == ("voorbereiding", "ingediend", True)
    # P7D (Tuesday 8 October) and P1D (Monday 14 October) only for oost, which has not applied.
    assert flow.tick("2024-10-08T09:00")["queued"] == 1
    assert flow.tick("2024-10-14T09:00")["queued"] == 1
    assert flow.notices("oost", "deadline_aanvraag") == [
        ("reminder", "2024-09-13T09:00:00+02:00"), ("reminder", "2024-10-01T09:00:00+02:00"),
        ("reminder", "2024-10-08T09:00:00+02:00"), ("reminder", "2024-10-14T09:00:00+02:00")]
    assert flow.notices("noord", "deadline_aanvraag") == [
        ("reminder", "2024-09-13T09:00:00+02:00"), ("reminder", "2024-10-01T09:00:00+02:00")]
    assert flow.deadline("noord", "deadline_aanvraag")["status"] == "met"
    delivered = [(to, subject) for to, subject in flow.mail() if "Deadline subsidieaanvraag" in subject]
    assert len(delivered) == 3 * 2 + 4
    assert sum("re-oost@example.org" in to for to, _ in delivered) == 4
    [first] = [e for e in flow.events("noord") if e["kind"] == "reminder_sent"][:1]
    assert sorted(first["data"]["recipients"]) == [  # penvoerder, programmamanager, coordinator
        "penvoerder@noord.example.org", "pm@noord.example.org", "re-noord@example.org"]

    # The deadline passes: oost's case ends, by the scheduler.
    assert flow.tick("2024-10-15T15:59")["transitions"] == []
    tick = flow.tick("2024-10-15T16:01")
    assert tick["transitions"] == ["oost: voorbereiding -> deadline_verstreken"], tick
    last = flow.json("history", "oost")["events"][-1]
    assert (last["trigger"], last["actor"], last["to"]) == (
        "deadline_verstreken", "scheduler", "deadline_verstreken")

    # A case opened after the close says so.
    flow.now = "2024-11-01T10:00"
    region(flow, "laat")
    late = flow.ok("start", "laat", "subsidie", "--round", "2025")
    said = late.out + late.err
    assert "warning" in said.lower() and "2024-10-15" in said, str(late)
    region(flow, "later")
    opened = flow.json("start", "later", "subsidie", "--round", "2025")
    assert opened["warnings"], opened
    assert any("2024-10-15" in w for w in opened["warnings"]), opened

    # January 2025: DUS-I grants noord and west on the 20th; recorded on the 22nd.
    flow.now = "2025-01-22T10:00"
    granted = grant(flow, "noord", "DUSI-2025-0042")
    assert (granted["from"], granted["to"]) == ("ingediend", "verleend")
    grant(flow, "west", "DUSI-2025-0043")
    verleen = flow.json("history", "noord", "--workflow", "subsidie")["events"][-1]
    assert (verleen["trigger"], verleen["actor"], verleen["at"]) == (
        "verleen", "anne", "2025-01-22T10:00:00+01:00")
    decision = verleen["decision"]
    assert (decision["by"], decision["date"], decision["ref"], decision["document"]) == (
        "dus_i", "2025-01-20", "DUSI-2025-0042", "beschikking")
    assert decision["by_label"] == "DUS-I (namens de minister van OCW)"

    # The activity period began on 1 January: the next tick moves the granted cases on.
    tick = flow.tick("2025-01-22T10:05")
    assert sorted(tick["transitions"]) == [
        "laat: voorbereiding -> deadline_verstreken", "later: voorbereiding -> deadline_verstreken",
        "noord: verleend -> in_uitvoering", "west: verleend -> in_uitvoering"], tick
    start = flow.json("history", "noord", "--workflow", "subsidie")["events"][-1]
    assert (start["trigger"], start["actor"], start["to"]) == (
        "start_uitvoering", "scheduler", "in_uitvoering")
    assert flow.state("noord", "subsidie/2025") == "in_uitvoering"

    # The region is active in the network once it has a running grant; zuid is not (yet).
    flow.now = "2025-01-23T10:00"
    assert flow.json("advance", "noord", "sluit_aan", "--workflow", "regiovorming")["to"] == "actief"

    # zuid: rejected on 20 January, recorded on the 30th. Six weeks from the decision's date.
    flow.now = "2025-01-30T10:00"
    refused = decide(flow, "zuid", "wijs_af", "DUSI-2025-0099")
    assert refused["to"] == "afgewezen"
    assert unmet(flow.refused("advance", "zuid", "sluit_aan", "--workflow", "regiovorming")) == [
        "subsidie_lopend"]
    term = flow.deadline("zuid", "bezwaartermijn")
    assert (term["due"], term["status"]) == ("2025-03-03T23:59:00+01:00", "upcoming")
    for reminder in ("2025-02-17T09:00", "2025-02-24T09:00"):  # P14D and P7D, both Mondays
        assert flow.tick(reminder)["transitions"] == []
    assert flow.tick("2025-03-03T12:00")["transitions"] == []
    assert flow.state("zuid", "subsidie/2025") == "afgewezen"
    tick = flow.tick("2025-03-04T00:01")
    assert tick["transitions"] == ["zuid: afgewezen -> afwijzing_onherroepelijk"], tick
    last = flow.json("history", "zuid", "--workflow", "subsidie")["events"][-1]
    assert (last["trigger"], last["actor"], last["to"]) == (
        "bezwaartermijn_verstreken", "scheduler", "afwijzing_onherroepelijk")
    assert flow.notices("zuid", "bezwaartermijn") == [
        ("reminder", "2025-02-17T09:00:00+01:00"), ("reminder", "2025-02-24T09:00:00+01:00"),
        ("overdue", "2025-03-04T00:01:00+01:00")]

    # April 2025, the top-up round: only for a region with a 2025 grant.
    flow.now = "2025-04-10T10:00"
    for slug in ("zuid", "noord"):
        flow.ok("start", slug, "aanvulling", "--round", "2025-aanvulling")
        flow.ok("fact", "set", slug, "aard_aanvulling", "verbreden", "--workflow", "aanvulling")
        flow.ok("document", "add", slug, "subsidieaanvraag", "--title", "Aanvullende aanvraag",
                "--date", "2025-04-10")
    flow.ok("fact", "set", "zuid", "aangevraagd_aanvulling", "250000", "--workflow", "aanvulling")
    refused = flow.refused("advance", "zuid", "dien_aanvraag_in", "--workflow", "aanvulling")
    assert unmet(refused) == ["subsidie_2025_verleend"]
    flow.ok("fact", "set", "noord", "aangevraagd_aanvulling", "250000.01", "--workflow", "aanvulling")
    refused = flow.refused("advance", "noord", "dien_aanvraag_in", "--workflow", "aanvulling")
    assert unmet(refused) == ["binnen_plafond"]
    flow.ok("fact", "set", "noord", "aangevraagd_aanvulling", "250000", "--workflow", "aanvulling")
    applied = flow.json("advance", "noord", "dien_aanvraag_in", "--workflow", "aanvulling")
    assert (applied["from"], applied["to"], applied["ok"]) == ("voorbereiding", "ingediend", True)
    assert flow.state("noord", "subsidie/2025") == "in_uitvoering"  # the 2025 case is untouched

    tick = flow.tick("2025-04-26T09:00")  # the top-up window has closed
    assert tick["transitions"] == ["zuid: voorbereiding -> deadline_verstreken"], tick
    assert flow.state("zuid", "aanvulling/2025-aanvulling") == "deadline_verstreken"

    # The first peilgesprek is due on 1 July 2025 (P6M from 1 January).
    assert flow.deadline("noord", "peilgesprek")["due"].startswith("2025-07-01T")
    assert flow.tick("2025-06-17T09:00")["queued"] == 2  # noord and west, catching up on P14D
    flow.now = "2025-06-20T15:00"
    flow.ok("record", "add", "noord", "peilgesprek", "--field", "datum=2025-06-20",
            "--field", "deelnemers=Pia de Vries", "--field", "deelnemers=RE-coordinator",
            "--field", "wat_werkt=De matchingstafel", "--field", "vervolgacties=Zij-instroom")
    assert flow.deadline("noord", "peilgesprek")["status"] == "met"
    assert flow.tick("2025-06-24T09:00")["queued"] == 1  # P7D, west only
    tick = flow.tick("2025-07-02T09:00")
    assert (tick["overdue"], tick["sent"]) == (1, 1), tick  # west's notice, none for noord
    assert flow.deadline("noord", "peilgesprek")["status"] == "met"
    assert flow.deadline("west", "peilgesprek")["status"] == "overdue"
    assert flow.notices("noord", "peilgesprek") == [("reminder", "2025-06-17T09:00:00+02:00")]
    assert flow.notices("west", "peilgesprek") == [
        ("reminder", "2025-06-17T09:00:00+02:00"), ("reminder", "2025-06-24T09:00:00+02:00"),
        ("rollover", "2025-07-02T09:00:00+02:00")]  # a recurring milestone's overdue notice
    assert flow.json("audit", "verify")["ok"] is True


# --- 1. the regulation's conditions, one at a time ------------------------------------------------


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two SQLite files, made once: `ready` (noord meets every condition on 20 June 2024) and
    `partial` (the same without the Samen Opleiden section and the professionaliseren actie)."""
    directory = tmp_path_factory.mktemp("regulation")
    flow = new_flow(f"sqlite:///{directory / 'work.db'}", directory, "2024-06-20T10:00")
    prepare(flow, "noord", paragraaf=False, themes=THEMES[:-1])
    copies = {"partial": directory / "partial.db", "ready": directory / "ready.db"}
    shutil.copyfile(directory / "work.db", copies["partial"])
    flow.ok("document", "add", "noord", "paragraaf_samen_opleiden", "--title", "Samen Opleiden")
    flow.ok("record", "add", "noord", "actie", "--round", "2025", "--field", "thema=professionaliseren",
            "--field", "omschrijving=SMART-actie professionaliseren")
    shutil.copyfile(directory / "work.db", copies["ready"])
    return copies


ON_TIME, LATE = "2024-06-20T10:00", "2024-10-15T16:01"

#: (id, snapshot, now, commands, the requirements unmet after them)
CONDITIONS: list[tuple[str, str, str, list[list[str]], list[str]]] = [
    ("all met", "ready", ON_TIME, [], []),
    ("no schoolbestuur", "ready", ON_TIME, [["partner", "remove", "noord", "Stichting Primair Noord"]],
     ["schoolbesturen_betrokken"]),
    ("no lerarenopleiding", "ready", ON_TIME, [["partner", "remove", "noord", "Pabo Noord"]],
     ["lerarenopleiding_betrokken"]),
    ("no vakbond", "ready", ON_TIME, [["partner", "remove", "noord", "AOb"]], ["beroepsgroep_betrokken"]),
    ("a beroepsgroep instead of the vakbond", "ready", ON_TIME,
     [["partner", "remove", "noord", "AOb"], ["partner", "add", "noord", "Beroepsvereniging",
                                              "--kind", "beroepsgroep"]], []),
    ("not contiguous", "ready", ON_TIME, [["fact", "set", "noord", "aaneengesloten_gebied", "nee"]],
     ["aaneengesloten_gebied"]),
    ("not contiguous but a national region", "ready", ON_TIME,
     [["fact", "set", "noord", "aaneengesloten_gebied", "nee"],
      ["fact", "set", "noord", "landelijke_regio", "ja"]], []),
    ("PO 14999", "ready", ON_TIME, [["fact", "set", "noord", "leerlingen_po", "14999"]],
     ["minimale_omvang"]),
    ("PO 15000", "ready", ON_TIME, [["fact", "set", "noord", "leerlingen_po", "15000"]], []),
    ("PO 14999 and VO 15000", "ready", ON_TIME,
     [["fact", "set", "noord", "leerlingen_po", "14999"], ["fact", "set", "noord", "leerlingen_vo", "15000"]],
     []),
    ("PO 14999 and MBO 9000", "ready", ON_TIME,
     [["fact", "set", "noord", "leerlingen_po", "14999"], ["fact", "set", "noord", "studenten_mbo", "9000"]],
     []),
    ("PO 14999, VO 14999 and MBO 8999", "ready", ON_TIME,
     [["fact", "set", "noord", "leerlingen_po", "14999"], ["fact", "set", "noord", "leerlingen_vo", "14999"],
      ["fact", "set", "noord", "studenten_mbo", "8999"]], ["minimale_omvang"]),
    ("149 trained", "ready", ON_TIME, [["fact", "set", "noord", "opgeleide_studenten_2023", "149"]],
     ["opleidingsaantal_2023_2024"]),
    ("locations in two regions", "ready", ON_TIME, [["fact", "set", "noord", "vestigingen_uniek", "nee"]],
     ["vestigingen_uniek"]),
    ("no Samen Opleiden section", "partial", ON_TIME,
     [["record", "add", "noord", "actie", "--round", "2025", "--field", "thema=professionaliseren",
       "--field", "omschrijving=SMART-actie professionaliseren"]], ["samen_opleiden_uitgewerkt"]),
    ("no actie for professionaliseren", "partial", ON_TIME,
     [["document", "add", "noord", "paragraaf_samen_opleiden", "--title", "Samen Opleiden"]],
     ["elk_thema_een_actie"]),
    ("no penvoerder", "ready", ON_TIME,
     [["role", "unassign", "noord", "penvoerder", "Stichting Primair Noord"]], ["penvoerder_aangewezen"]),
    ("one minute before the deadline", "ready", "2024-10-15T15:59", [], []),
    ("one minute after the deadline", "ready", LATE, [], ["voor_deadline"]),
]


@pytest.mark.parametrize(("snapshot", "now", "commands", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in CONDITIONS])
def test_each_condition_of_the_regulation_is_checked_at_the_application(
    snapshots: dict[str, Path], tmp_path: Path, snapshot: str, now: str,
    commands: list[list[str]], expected: list[str],
) -> None:
    database = tmp_path / "onderwijsflow.db"
    shutil.copyfile(snapshots[snapshot], database)
    config = tmp_path / "onderwijsflow-test.yaml"
    config.write_text(config_text(tmp_path / "outbox"), encoding="utf-8")
    flow = Flow(f"sqlite:///{database}", config, now)
    for command in commands:
        flow.ok(*command)

    run = flow("advance", "noord", "dien_aanvraag_in", "--dry-run", "--json")
    assert run.code == (3 if expected else 0), str(run)
    dry = run.json()
    assert (dry["ok"], dry["dry_run"]) == (not expected, True)
    assert unmet(dry) == expected
    if expected == ["elk_thema_een_actie"]:
        [detail] = [u["detail"] for u in dry["unmet"]]
        assert "professionaliseren" in detail
        assert not any(theme in detail for theme in THEMES[:-1]), detail

    run = flow("advance", "noord", "dien_aanvraag_in", "--json")
    if expected:
        assert run.code == 3, str(run)
        assert unmet(run.json()) == expected
        assert flow.state("noord", "subsidie/2025") == "voorbereiding"
        [attempt] = [e for e in flow.events("noord") if e["kind"] == "refused"]
        assert attempt["trigger"] == "dien_aanvraag_in"
    else:
        assert run.code == 0, str(run)
        assert flow.state("noord", "subsidie/2025") == "ingediend"


# --- the top-up round: the application of the top-up, not the 2025 one ------------------------------


def test_the_top_up_needs_its_own_application_not_the_one_of_2024(tmp_path: Path) -> None:
    flow = new_flow(f"sqlite:///{tmp_path / 'onderwijsflow.db'}", tmp_path, "2024-10-01T10:00")
    prepare(flow, "noord")  # its 2025 application was recorded on 1 October 2024
    flow.ok("advance", "noord", "dien_aanvraag_in")
    flow.now = "2025-01-22T10:00"
    grant(flow, "noord", "DUSI-2025-0042")
    flow.now = "2025-04-10T10:00"
    flow.ok("start", "noord", "aanvulling", "--round", "2025-aanvulling")
    flow.ok("fact", "set", "noord", "aard_aanvulling", "verdiepen", "--workflow", "aanvulling")
    flow.ok("fact", "set", "noord", "aangevraagd_aanvulling", "100000", "--workflow", "aanvulling")
    run = flow("advance", "noord", "dien_aanvraag_in", "--workflow", "aanvulling", "--dry-run", "--json")
    # "De aanvullende aanvraag is vastgelegd": the application of October 2024 is not it. Only
    # that may be missing: the grant, the kind, the amount and the window are in order.
    assert run.code == 3, str(run)
    missing = unmet(run.json())
    assert missing and not set(missing) & {"subsidie_2025_verleend", "aard_gekozen", "binnen_plafond",
                                           "venster_open", "voor_deadline"}, str(run)


# --- 2. the 2023 selection ----------------------------------------------------------------------------


def test_the_2023_selection_with_its_deciding_bodies(flow: Flow) -> None:
    flow.now = "2023-04-03T10:00"
    for slug in ("heidekant", "laatkomer"):
        region(flow, slug)
        flow.ok("start", slug, "voorlopers", "--round", "2023")
        flow.ok("partner", "add", slug, f"Stichting Primair {slug.title()}", "--kind", "schoolbestuur",
                "--sector", "PO")
        flow.ok("partner", "add", slug, f"Pabo {slug.title()}", "--kind", "lerarenopleiding")
        flow.ok("document", "add", slug, "intentieverklaring", "--title", "Intentieverklaring")

    # None of the 2025 thresholds exist in 2023: not in the definition, not in any check.
    shown = flow.json("workflow", "show", "voorlopers")
    text = json.dumps(shown)
    assert shown["facts"] == {}
    for name in (*REGULATION_2025, *THRESHOLD_FACTS):
        assert name not in text, name
    readiness = flow.json("check", "heidekant", "--workflow", "voorlopers")
    checked = {u["requirement"] for t in readiness["triggers"] for u in t["unmet"]}
    assert not checked & set(REGULATION_2025), checked

    # Applications by 28 April 2023; no profession group is needed to apply.
    flow.now = "2023-04-27T16:00"
    applied = flow.json("advance", "heidekant", "dien_aanvraag_in", "--workflow", "voorlopers")
    assert (applied["to"], applied["ok"]) == ("ingediend", True)
    evaluated = {e["requirement"] for e in applied["evidence"]}
    assert evaluated == {"schoolbesturen_betrokken", "lerarenopleiding_betrokken",
                         "samenwerking_vastgelegd", "op_tijd_aangevraagd"}
    flow.now = "2023-04-29T10:00"
    late = flow.refused("advance", "laatkomer", "dien_aanvraag_in", "--workflow", "voorlopers")
    assert unmet(late) == ["op_tijd_aangevraagd"]

    # May 2023: OCW with the national partners: provisional, the profession group missing.
    flow.now = "2023-05-25T10:00"
    voorlopig = ["--decided-by", "ocw_landelijke_partners", "--decision-date", "2023-05-24",
                 "--decision-ref", "OCW-VOORLOPERS-2023-12"]
    wrong = flow("advance", "heidekant", "ken_voorlopige_status_toe", "--workflow", "voorlopers",
                 "--decided-by", "bestuurlijk_overleg", "--decision-date", "2023-05-24",
                 "--decision-ref", "X")
    assert wrong.code != 0 and "bestuurlijk_overleg" in wrong.err, str(wrong)
    moved = flow.json("advance", "heidekant", "ken_voorlopige_status_toe", "--workflow", "voorlopers",
                      *voorlopig)
    assert moved["to"] == "voorlopige_status"

    # 6 July 2023, the Bestuurlijk Overleg: refused until the profession group takes part.
    flow.now = "2023-07-06T09:00"
    definitief = ["--decided-by", "bestuurlijk_overleg", "--decision-date", "2023-07-06",
                  "--decision-ref", "BO-LERAREN-2023-07-06"]
    refused = flow.refused("advance", "heidekant", "ken_definitieve_status_toe", "--workflow",
                           "voorlopers", *definitief)
    assert unmet(refused) == ["beroepsgroep_betrokken"]
    flow.now = "2023-07-06T11:00"
    flow.ok("partner", "add", "heidekant", "FvOv", "--kind", "vakbond")
    flow.now = "2023-07-06T15:00"
    moved = flow.json("advance", "heidekant", "ken_definitieve_status_toe", "--workflow", "voorlopers",
                      *definitief)
    assert (moved["from"], moved["to"]) == ("voorlopige_status", "definitieve_status")

    events = flow.json("history", "heidekant", "--workflow", "voorlopers")["events"]
    assert [(e["trigger"], e["to"]) for e in events] == [
        ("dien_aanvraag_in", "ingediend"), ("ken_voorlopige_status_toe", "voorlopige_status"),
        ("ken_definitieve_status_toe", "definitieve_status")]
    assert events[0]["decision"] is None
    decisions = [(e["decision"]["by"], e["decision"]["by_label"], e["decision"]["date"], e["decision"]["ref"])
                 for e in events[1:]]
    assert decisions == [
        ("ocw_landelijke_partners", "OCW met de landelijke partners (waaronder FvOv/NVOP)", "2023-05-24",
         "OCW-VOORLOPERS-2023-12"),
        ("bestuurlijk_overleg", "Bestuurlijk Overleg Leraren", "2023-07-06", "BO-LERAREN-2023-07-06")]
    assert all(e["actor"] == "anne" for e in events)  # the coordinator recorded, did not decide
    # The pilot subsidy milestone: 2 October 2023, 16:00.
    assert flow.deadline("heidekant", "voorlopersubsidie")["due"] == "2023-10-02T16:00:00+02:00"
    assert flow.json("audit", "verify")["ok"] is True


# --- 3. the definitions -----------------------------------------------------------------------------


def test_every_shipped_workflow_shows_and_validates(tmp_path: Path) -> None:
    flow = new_flow(f"sqlite:///{tmp_path / 'onderwijsflow.db'}", tmp_path, "2024-03-01T10:00")
    files = sorted(WORKFLOWS.glob("*.yaml"))
    assert sorted(path.stem for path in files) == sorted(SHIPPED)
    run = flow.ok("workflow", "validate", *map(str, files))
    assert "Traceback" not in run.err
    listed = {w["workflow"]: w for w in flow.json("workflow", "list")["workflows"]}
    assert {name: listed[name]["version"] for name in SHIPPED} == {
        "voorlopers": 1, "subsidie": 3, "regiovorming": 2, "aanvulling": 1}
    for name in SHIPPED:
        shown = flow.json("workflow", "show", name)
        assert shown["workflow"] == name and shown["states"], name
        text = flow.ok("workflow", "show", name).out
        assert shown["title"] in text and shown["initial"] in text, name
