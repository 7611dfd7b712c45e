"""The demo, and the commands on workflows and the audit log, in one language at a time.

The demo is played twice, as a user starts it (a subprocess, no ONDERWIJSFLOW_* in the
environment): in Dutch, the default (``demo --db FILE``), and in English (``onderwijsflow --lang
en --db sqlite:///FILE demo``). The Dutch story must
hold no English word, the English one no Dutch sentence; what the workflows name (state,
requirement and milestone labels, the deciding bodies), the invented names and what the story
quotes (‘…’) stay as they are in both. The other commands run in process, once per language.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import ENV_VARS, Run, invoke

from onderwijsflow.demo import REGIONS

pytestmark = pytest.mark.shipped_workflows

REPO = Path(__file__).resolve().parents[1]

#: English words the Dutch demo must not say (whole words; `--region` in a command is no word).
ENGLISH = ("created", "moved", "needed", "found", "refused", "reminder", "reminders",
           "deadline passed", "the", "and", "missing", "applied", "decided", "recorded",
           "invented", "summary", "of which", "messages", "overdue", "milestone", "reached",
           "region", "regions", "events", "step", "now", "yes")

#: Dutch words the English demo must not say outside names, labels and quotes.
DUTCH = ("niet", "zonder", "geweigerd", "ontbreekt", "waarvan", "akte", "samenvatting",
         "verder", "gehaald", "vastgelegd", "besloten", "datum", "regio's", "bericht",
         "berichten", "herinneringen", "vóór", "uiterlijk", "loopt", "gebeurtenis",
         "gebeurtenissen", "zaak", "zaken", "maandag", "dinsdag", "vrijdag", "januari", "maart",
         "juni", "juli", "oktober", "het", "een", "de", "van", "fictieve", "gegevens", "planner",
         "stap", "nu", "ja", "gereed", "bedrag", "kenmerk", "opgeleid", "zijn", "wordt")


def _cli() -> list[str]:
    """The installed `onderwijsflow` script of this interpreter (else `python -m onderwijsflow`)."""
    name = "onderwijsflow.exe" if sys.platform == "win32" else "onderwijsflow"
    script = Path(sysconfig.get_path("scripts")) / name
    if script.exists():
        return [str(script)]
    found = shutil.which("onderwijsflow")
    return [found] if found else [sys.executable, "-m", "onderwijsflow"]


def _words(text: str, words: Iterable[str]) -> list[str]:
    """The `words` that occur in `text` as words (not inside a slug, option or longer word)."""
    return [w for w in words
            if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.IGNORECASE)]


def _names() -> list[str]:
    """Everything the story shows as a name: the workflows' labels and titles (and a body's
    label up to its parenthesis, as the history shows it), the regions, the partners."""
    from onderwijsflow.resources import shipped
    from onderwijsflow.service.catalog import Catalog

    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("label", "title") and isinstance(item, str):
                    found.update({item, item.split(" (")[0]})
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    catalog = Catalog(shipped("workflows"))
    for name in catalog.names:
        walk(catalog.current(name).definition.model_dump(mode="json"))
    for r in REGIONS:
        found.update({r.name, r.stem})
    return sorted(found, key=len, reverse=True)


def _outside_names(text: str) -> str:
    """`text` without what it quotes (‘…’) and without the names it shows."""
    text = re.sub(r"‘[^’\n]*’", "", text)
    for name in _names():
        text = text.replace(name, "")
    return text


@dataclass
class Played:
    """One demo, run as a user runs it."""

    db: Path
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


def _play(db: Path, *args: str) -> Played:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["COLUMNS"] = "400"  # wide: table cells stay on one line
    done = subprocess.run([*_cli(), *args], cwd=db.parent, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)
    return Played(db, done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Played]:
    """The whole story once in Dutch, the default, in the file of ``demo --db FILE``; and once
    in English, in the file of the global ``--db sqlite:///FILE``."""
    directory = tmp_path_factory.mktemp("demo-lang")
    english = directory / "en.db"
    return {"nl": _play(directory / "nl.db", "demo", "--db", "nl.db"),
            "en": _play(english, "--lang", "en", "--db", f"sqlite:///{english}", "demo")}


# --- the story in one language --------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_demo_plays_in_the_file_db_names(played: dict[str, Played], lang: str) -> None:
    run = played[lang]
    assert run.code == 0, str(run)
    assert "Traceback" not in run.err and not run.err.strip(), str(run)
    assert run.db.read_bytes().startswith(b"SQLite format 3")
    assert not (run.db.parent / "onderwijsflow-demo.db").exists()  # --db, not the default file
    # The requirements a person types stay slugs; the labels the workflows give stay Dutch.
    for name in ("beroepsgroep_betrokken", "venster_open", "voor_deadline", "subsidie_2025_verleend",
                 "Definitieve voorloperstatus", "Bestuurlijk Overleg Leraren"):
        assert name in run.out, (lang, name)


def test_dutch_is_the_default_and_says_no_english_word(played: dict[str, Played]) -> None:
    out = played["nl"].out
    assert out.count("Fictieve gegevens: alle regio's") == 2  # at the start and at the end
    for text in ("Akte 1 · maart–september 2023", "✗ geweigerd: ken_definitieve_status_toe",
                 "vrijdag 28 april 2023", "€ 100.000", "audit verify: de hashketen is intact",
                 "Samenvatting", "Verder kijken: onderwijsflow --db sqlite:///nl.db history"):
        assert text in out, text
    assert not _words(out, ENGLISH), [
        line for line in out.splitlines() if _words(line, ENGLISH)]


def test_english_with_lang_en_says_no_dutch_sentence(played: dict[str, Played]) -> None:
    out = played["en"].out
    assert out.count("Invented data: all regions") == 2
    for text in ("Act 1 · March–September 2023", "✗ refused: ken_definitieve_status_toe",
                 "Friday 28 April 2023", "audit verify: the hash chain is intact", "Summary",
                 f"Explore further: onderwijsflow --lang en --db sqlite:///{played['en'].db} history"):
        assert text in out, text
    rest = _outside_names(out)
    assert not _words(rest, DUTCH), [
        line for line in rest.splitlines() if _words(line, DUTCH)]


def test_the_same_story_in_both_languages(played: dict[str, Played]) -> None:
    """Only the words differ: the same regions, outcomes and number of audit events."""
    from onderwijsflow.service import Onderwijsflow

    shown = {}
    for lang in ("nl", "en"):
        app = Onderwijsflow.open(db=f"sqlite:///{played[lang].db}")
        try:
            report = app.verify_audit()
            shown[lang] = (report["ok"], report["events"],
                           {r["slug"]: r["cases"] for r in app.list_regions()})
        finally:
            app.close()
    assert shown["nl"] == shown["en"]
    assert shown["nl"][0] is True and len(shown["nl"][2]) == len(REGIONS)


def test_a_reason_the_story_records_is_in_its_language(played: dict[str, Played]) -> None:
    from onderwijsflow.demo import FEATURED_SLUG
    from onderwijsflow.service import Onderwijsflow

    reasons = {}
    for lang in ("nl", "en"):
        app = Onderwijsflow.open(db=f"sqlite:///{played[lang].db}")
        try:
            events = app.history(FEATURED_SLUG, workflow="voorlopers")["events"]
            reasons[lang] = next(e["reason"] for e in events if e["to"] == "voorlopige_status")
        finally:
            app.close()
    assert reasons == {"nl": "Beroepsgroep nog geen volwaardig partner",
                       "en": "The profession group is not yet a full partner"}


# --- demo --db, the global --db, --db-file ---------------------------------------------------------


def run(*args: str, **env: str) -> Run:
    """``onderwijsflow ARGS`` in process, with no ONDERWIJSFLOW_* but `env`."""
    isolated: dict[str, str | None] = {f"ONDERWIJSFLOW_{n}": None for n in ENV_VARS}
    isolated.update({"COLUMNS": "400", **env})
    return invoke(args, isolated)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory (the demo's default file lands there)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def test_db_file_is_a_deprecated_alias_of_db(here: Path) -> None:
    done = run("demo", "--db-file", "old.db", "--quiet", ONDERWIJSFLOW_LANG="en")
    assert done.code == 0, str(done)
    assert done.err.strip() == "warning: demo --db-file is deprecated; use demo --db", str(done)
    assert (here / "old.db").read_bytes().startswith(b"SQLite format 3")
    assert not (here / "onderwijsflow-demo.db").exists()
    for lang in ("nl", "en"):
        shown = run("--lang", lang, "demo", "--help").out
        assert "--db FILE" in shown and "--db-file" not in shown  # hidden


def test_onderwijsflow_db_from_the_environment_is_left_alone(here: Path) -> None:
    """The demo replaces its file: the database ONDERWIJSFLOW_DB names is someone's work."""
    work = here / "werk.db"
    work.write_bytes(b"someone's work")
    done = run("demo", "--lang", "en", "--quiet", ONDERWIJSFLOW_DB=f"sqlite:///{work}")
    assert done.code == 0, str(done)
    assert work.read_bytes() == b"someone's work"
    assert (here / "onderwijsflow-demo.db").read_bytes().startswith(b"SQLite format 3")
    assert "Invented data" in done.out and "Fictieve gegevens" not in done.out


@pytest.mark.parametrize(("lang", "expected"), [
    ("nl", "fout: twee databases voor de demo"), ("en", "error: two databases for the demo")])
def test_two_different_databases_are_a_usage_error(here: Path, lang: str, expected: str) -> None:
    done = run("--lang", lang, "--db", "sqlite:///a.db", "demo", "--db", "b.db")
    assert done.code == 2 and done.line().startswith(expected), str(done)
    assert not (here / "a.db").exists() and not (here / "b.db").exists()
    same = run("--lang", lang, "--db", "sqlite:///a.db", "demo", "--db", "a.db", "--db-file", "c.db")
    assert same.code == 2, str(same)


@pytest.mark.parametrize(("lang", "expected"), [
    ("nl", "fout: de demo speelt in een nieuw SQLite-bestand; 'postgresql://x/y' is dat niet"),
    ("en", "error: the demo plays on a fresh SQLite file; 'postgresql://x/y' is not one")])
def test_the_demo_plays_on_sqlite_only(here: Path, lang: str, expected: str) -> None:
    for args in (("demo", "--db", "postgresql://x/y"), ("--db", "postgresql://x/y", "demo")):
        done = run("--lang", lang, *args)
        assert done.code == 2 and done.line().startswith(expected), str(done)


# --- workflow and audit commands in both languages ---------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(played: dict[str, Played], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the Dutch demo's database (the tests may not change the one played)."""
    copy = tmp_path_factory.mktemp("demo-copy") / "demo.db"
    shutil.copyfile(played["nl"].db, copy)
    return f"sqlite:///{copy}"


TEXTS = {
    "nl": {"init": "database op revisie", "list": ("versie", "titel", "statussen", "overgangen"),
           "show": ("beginstatus: voorbereiding", "Statussen", "Overgangen", "Voorwaarden", "eindstatus",
                    "Besluiten", "besloten door"),
           "valid": ": geldig (subsidie v3)",
           "intact": "auditlog intact: {events} gebeurtenissen in 10 regio's",
           "migrate": "[proefrun] 0 zaken van subsidie zouden naar versie 3 gaan",
           "no version": "fout: workflow 'subsidie' heeft geen versie 9 (het bestand heeft versie 3)",
           "unknown": "fout: geen workflow 'zwemles'",
           "help": ("Statussen, overgangen en voorwaarden van workflow NAME.",
                    "Controleer de hashketen van elke regio", "Het SQLite-bestand voor het verhaal")},
    "en": {"init": "database at revision", "list": ("version", "title", "states", "transitions"),
           "show": ("initial: voorbereiding", "States", "Transitions", "Requirements", "final",
                    "Decisions", "decided by"),
           "valid": ": valid (subsidie v3)",
           "intact": "audit log intact: {events} events in 10 regions",
           "migrate": "[dry run] 0 cases of subsidie would move to version 3",
           "no version": "error: workflow 'subsidie' has no version 9 (the file has version 3)",
           "unknown": "error: no workflow 'zwemles'",
           "help": ("States, transitions and requirements of workflow NAME.",
                    "Verify the hash chain of every region", "The SQLite file to play the story in")},
}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_workflow_and_audit_commands_speak_the_language(demo_db: str, lang: str) -> None:
    texts = TEXTS[lang]

    def ok(*args: str) -> str:
        done = run("--lang", lang, "--db", demo_db, *args)
        assert done.code == 0 and not done.err.strip(), str(done)
        return done.out

    assert texts["init"] in ok("init")
    listed = ok("workflow", "list")
    assert all(word in listed for word in texts["list"]), listed
    shown = ok("workflow", "show", "subsidie")
    assert all(word in shown for word in texts["show"]), shown
    assert texts["valid"] in ok("workflow", "validate", str(REPO / "workflows" / "subsidie.yaml"))
    events = run("--db", demo_db, "audit", "verify", "--json")
    assert '"ok": true' in events.out
    count = int(re.search(r'"events": (\d+)', events.out).group(1))  # type: ignore[union-attr]
    assert ok("audit", "verify").strip() == texts["intact"].format(events=count)
    assert ok("workflow", "migrate", "subsidie", "--to", "3", "--dry-run").startswith(texts["migrate"])
    missing = run("--lang", lang, "--db", demo_db, "workflow", "migrate", "subsidie", "--to", "9")
    assert missing.code == 4 and missing.line() == texts["no version"], str(missing)
    unknown = run("--lang", lang, "--db", demo_db, "workflow", "show", "zwemles")
    assert unknown.code == 4 and unknown.line().startswith(texts["unknown"]), str(unknown)
    helps = "".join(run("--lang", lang, *command, "--help").out
                    for command in (("workflow",), ("audit", "verify"), ("demo",)))
    assert all(text in " ".join(helps.split()) for text in texts["help"]), helps


def test_dutch_workflow_show_has_no_english_heading(demo_db: str) -> None:
    shown = run("--lang", "nl", "--db", demo_db, "workflow", "show", "voorlopers").out
    headings = ("initial", "States", "Transitions", "Requirements", "Milestones", "Records",
                "Decisions", "decided by", "requirement", "label", "final", "from", "to", "by")
    assert not _words(_outside_names(shown), headings), shown


@pytest.mark.parametrize(("lang", "expected"), [
    ("nl", "fout: auditlog gebroken bij gebeurtenis 2 van regio 'beekdal': "
           "de hash past niet bij de inhoud (gewijzigd nadat de gebeurtenis is geschreven)"),
    ("en", "error: audit log broken at event 2 of region 'beekdal': "
           "its hash does not match its content (altered after it was written)")])
def test_a_broken_chain_is_named_in_the_language(played: dict[str, Played], tmp_path: Path,
                                                 lang: str, expected: str) -> None:
    copy = tmp_path / "broken.db"
    shutil.copyfile(played["nl"].db, copy)
    with closing(sqlite3.connect(copy)) as raw, raw:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                   "AND tbl_name = 'events'").fetchall():
            raw.execute(f'DROP TRIGGER "{name}"')
        raw.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2 AND region_id = "
                    "(SELECT id FROM regions WHERE slug = 'beekdal')")
    broken = run("--lang", lang, "--db", f"sqlite:///{copy}", "audit", "verify")
    assert broken.code == 1 and broken.line() == expected, str(broken)
