"""Every command, in Dutch and in English, on the shipped workflows (issue 11).

Dutch output (and stderr) must hold no English words; English output must hold no Dutch text
from the catalog; exit codes and JSON are the same in both languages. The scenario runs every
command of the CLI (checked against the command tree), so a new command without translations
fails here until it speaks both languages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from onderwijsflow import network as network_example
from onderwijsflow.cli import cli
from onderwijsflow.resources import shipped
from tests.support import Flow, Run

pytestmark = pytest.mark.shipped_workflows

#: Words that are English and never Dutch (command names, which a person types, are left out).
ENGLISH = re.compile(r"\b(the|and|with|without|from|for|not|must|needed|found|none|created|added|"
                     r"removed|moved|refused|allowed|unknown|missing|error|should|already|case|"
                     r"cases|state|states|requirement|requirements|milestone|milestones|overdue|"
                     r"upcoming|reminder|reminders|sent|passed|since|before|after|only|every|each|"
                     r"this|that|which|there|when|were|has|have|been|nothing|written|would|"
                     r"cannot|does|exists|broken|pending|failed|due|yes|no|true|false|"
                     r"trigger|triggers|transition|event|events|round|fact|facts|people|"
                     r"actor|version|dry run|would be|of type|opened|closed|days|weeks)\b")

#: Codes a person types, named in a command's help: event kinds, CSV column names.
TYPED = {"history": {"refused"}, "import regions": {"fact", "partners", "people"}}

#: Commands run only with --help here: the long-running worker, and the demo (its own test).
HELP_ONLY = {"scheduler run", "demo"}

NOW = "2024-09-02T10:00:00"


def leaf_commands(command: click.Command = cli, path: str = "") -> Iterator[str]:
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from leaf_commands(sub, f"{path} {name}".strip())
    else:
        yield path


def english_words(text: str) -> list[str]:
    """The English words in `text`, leaving out what a person typed or the data holds: quoted
    values, option names, e-mail addresses and paths."""
    text = re.sub(r"'[^'\n]*'|‘[^’\n]*’|\"[^\"\n]*\"|“[^”\n]*”", " ", text)
    text = re.sub(r"--[\w-]+|\S+@\S+|\S*/\S*|\b\w+_\w+\b|scope: case", " ", text)
    text = re.sub(r"onderwijsflow( [a-z][\w-]*)+", " ", text)  # a command, as typed
    return sorted({m.group(0) for m in ENGLISH.finditer(text)})


def dutch_texts() -> list[str]:
    """Translations in the catalog that differ from their English source (long enough to be
    unambiguous), leaving out the vocabulary's names."""
    from babel.messages.pofile import read_po

    from onderwijsflow.i18n.catalog import PO

    with PO.open("rb") as f:
        catalog = read_po(f)
    out = []
    for message in catalog:
        if all(path.endswith("vocabulary.py") for path, _ in message.locations):
            continue  # names of things, which the workflows' Dutch labels use too
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in strings:
            fixed = text.split("{")[0].strip() if text else ""
            # Three words or more: single words and pairs are often names used in both
            # languages (programmamanager, de subsidieaanvraag in a workflow's label).
            if len(fixed) >= 16 and len(fixed.split()) >= 3 and fixed not in ids[0]:
                out.append(fixed)
    return out


def scenario(flow: Flow, slug: str, tmp: Path) -> list[tuple[str, Run]]:
    """Every command once (most twice: success and a refusal or mistake)."""
    runs: list[tuple[str, Run]] = []

    def do(command: str, *args: str) -> Run:
        run = flow(*command.split(), *args)
        assert "Traceback" not in run.err, str(run)
        runs.append((command, run))
        return run

    csv = tmp / f"regios-{slug}.csv"
    csv.write_text(f"slug,name,provinces,sectors\n{slug}-noord,Regio Noord {slug},Utrecht,PO\n",
                   encoding="utf-8")
    do("init")
    do("workflow list")
    do("workflow show", "subsidie")
    do("workflow validate", str(shipped("workflows") / "subsidie.yaml"))
    do("workflow graph", "subsidie")
    do("workflow migrate", "subsidie", "--to", "3", "--dry-run")
    do("import regions", str(csv), "--dry-run")
    do("import regions", str(csv))
    do("region create", slug, "--name", f"Regio {slug.title()}", "--province", "Utrecht",
       "--sector", "po", "--coordinator", "coordinatie@example.org")
    do("region create", slug, "--name", "Dubbel")  # exists: refused
    do("region update", slug, "--name", f"Onderwijsregio {slug.title()}")
    do("region list")
    do("region show", slug)
    do("region show", "bestaat-niet")  # not found
    do("partner add", slug, "Stichting Primair Utrecht", "--kind", "schoolbestuur", "--sector", "PO")
    do("partner add", slug, "Pabo Utrecht", "--kind", "lerarenopleiding")
    do("partner add", slug, "Iets", "--kind", "beroepsgroe")  # a typo: suggestion
    do("partner list", slug)
    example = Path(network_example.__file__).parent / "voorbeeld"
    do("import municipalities", str(example / "gemeenten.csv"), "--year", "2025")
    do("import locations", str(example / "vestigingen-po.csv"), "--year", "2025", "--sector", "PO")
    do("import locations", str(example / "vestigingen-po.csv"), "--year", "2025")  # no sector: a mistake
    do("import adjacency", str(example / "aangrenzend.csv"), "--year", "2025")
    do("import boundaries", str(example / "gemeenten.geojson"), "--year", "2025")
    do("reference example", "--year", "2025")
    do("reference list", "municipalities")
    do("region add-municipality", slug, "GM9001")
    do("region add-municipality", slug, "GM9016")
    do("region remove-municipality", slug, "GM9016")
    do("region add-location", slug, "9AAA00")
    do("region add-location", slug, "9ZZZ00")  # not found
    do("region remove-location", slug, "9AAA00")
    do("region network", slug)
    do("coverage")
    do("coverage", "--format", "md")
    do("partner remove", slug, "Pabo Utrecht")
    do("role assign", slug, "penvoerder", "Piet Jansen", "--email", "piet@example.org")
    do("role assign", slug, "programmamanager", "Anne de Vries")
    do("role unassign", slug, "programmamanager", "Anne de Vries")
    do("document add", slug, "plan_van_aanpak", "--title", "Plan van aanpak", "--date", "1-9-2024")
    added = do("document add", slug, "overig", "--title", "Notitie", "--json").json()
    do("document list", slug)
    do("document remove", slug, str(added.get("id", added.get("document", {}).get("id", 0))))
    do("fact set", slug, "leerlingen_po", "29000")
    do("fact set", slug, "leerlingen_vo", "veel")  # not a number
    do("fact unset", slug, "leerlingen_po")
    do("start", slug, "subsidie", "--round", "2025")
    do("check", slug, "--workflow", "subsidie")
    do("advance", slug, "dien_aanvraag_in", "--workflow", "subsidie", "--dry-run")
    do("advance", slug, "dien_aanvraag_in", "--workflow", "subsidie")  # refused
    do("advance", slug, "bestaat_niet", "--workflow", "subsidie")  # unknown trigger
    do("record add", slug, "actie", "--workflow", "subsidie", "--field", "thema=matchen",
       "--field", "omschrijving=Matchen van zij-instromers", "--field", "eigenaar=Piet Jansen")
    do("record list", slug)
    do("advance-all", "dien_aanvraag_in", "--workflow", "subsidie", "--dry-run")
    do("advance-all", "verleen", "--workflow", "subsidie", "--in-state", "voorbereiding")
    do("advance", slug, "dien_aanvraag_in", "--workflow", "subsidie", "--override",
       "--reason", "Aanvraag is per post binnengekomen")
    do("history", slug)
    do("history", slug, "--all")
    do("history", slug, "--event", "1")
    do("audit verify", slug)
    do("audit verify")
    do("audit anchor", "--out", str(tmp / f"anker-{slug}.json"))
    do("audit verify", "--anchor", str(tmp / f"anker-{slug}.json"))
    do("dossier", slug, "--out", str(tmp / f"dossier-{slug}.html"))
    do("dossier", slug, "--out", str(tmp / f"dossier-{slug}.docx"))  # not .html or .pdf
    do("serve", "--host", "0.0.0.0")  # refused: no --trusted-proxy
    do("deadlines", "--within", "P2Y")
    do("deadlines", "--region", slug, "--ics", str(tmp / f"{slug}.ics"))
    do("scheduler tick")
    do("scheduler status")
    do("scheduler resend", "999999")  # not found
    do("report")
    do("report", "--format", "md")
    do("policy show")
    do("user add", "anne", "--role", "coordinator")  # refused: the first user is an admin
    do("user add", "anne", "--role", "admin", "--email", "anne@example.org")
    do("user list")
    do("policy write-scope", "all")
    do("policy events")
    do("user remove", "baas")  # not found
    for command in sorted(HELP_ONLY):
        do(command, "--help")
    for command in sorted(set(leaf_commands())):
        do(command, "--help")
    return runs


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, Run]]]:
    out = {}
    for lang in ("nl", "en"):
        tmp = tmp_path_factory.mktemp(lang)
        config = tmp / "config.yaml"
        config.write_text("simulated_clock: true\nnotify: {channels: [{type: log}]}\n", encoding="utf-8")
        flow = Flow(f"sqlite:///{tmp / 'o.db'}", config, shipped("workflows"), NOW, lang=lang)
        out[lang] = scenario(flow, "utrecht", tmp)
    return out


def test_the_scenario_runs_every_command(both: dict[str, list[tuple[str, Run]]]) -> None:
    ran = {command for command, run in both["nl"] if "--help" not in run.args}
    missing = set(leaf_commands()) - ran - HELP_ONLY
    assert not missing, f"commands the language test does not run: {sorted(missing)}"


def test_dutch_output_holds_no_english(both: dict[str, list[tuple[str, Run]]]) -> None:
    problems = []
    for command, run in both["nl"]:
        if "--json" in run.args:
            continue
        for stream, text in (("stdout", run.out), ("stderr", run.err)):
            if command == "workflow graph":
                continue  # a diagram in Mermaid's language; its labels come from the workflow
            words = [w for w in english_words(text) if w not in TYPED.get(command, ())]
            if words:
                problems.append(f"onderwijsflow {' '.join(run.args)} ({stream}): {words}\n{text[:600]}")
    assert not problems, f"{len(problems)} outputs with English words:\n\n" + "\n\n".join(problems[:15])


def test_english_output_holds_no_dutch_from_the_catalog(both: dict[str, list[tuple[str, Run]]]) -> None:
    dutch = dutch_texts()
    problems = []
    for _, run in both["en"]:
        for text in (run.out, run.err):
            hits = [d for d in dutch if d in text]
            if hits:
                problems.append(f"onderwijsflow {' '.join(run.args)}: {hits[:3]}")
    assert not problems, "\n".join(problems[:20])


def test_exit_codes_and_json_do_not_depend_on_the_language(both: dict[str, list[tuple[str, Run]]]) -> None:
    for (command, nl), (_, en) in zip(both["nl"], both["en"], strict=True):
        assert nl.code == en.code, f"{command}: exit {nl.code} in Dutch, {en.code} in English"
        if "--json" in nl.args:
            assert _shape(nl.json()) == _shape(en.json()), command


def test_a_refusal_and_a_mistake_are_one_dutch_sentence(both: dict[str, list[tuple[str, Run]]]) -> None:
    runs = {" ".join(run.args): run for _, run in both["nl"]}
    missing_region = runs["region show bestaat-niet"]
    assert missing_region.code == 4 and missing_region.err.startswith("fout: ")
    assert len(missing_region.err.strip().splitlines()) == 1
    refused = runs["advance utrecht dien_aanvraag_in --workflow subsidie"]
    assert refused.code == 3


def _shape(value: Any) -> Any:
    """The keys of a JSON document, recursively (values may hold sentences in the language)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return type(value).__name__


def test_help_is_translated_for_every_command() -> None:
    """Each command's own description has a Dutch translation (the catalog test checks all
    texts; this one names the command)."""
    from onderwijsflow import i18n

    untranslated = []
    with i18n.using("nl"):
        for path in sorted(set(leaf_commands())):
            command: click.Command = cli
            for name in path.split():
                assert isinstance(command, click.Group)
                command = command.commands[name]
            source = command.__dict__.get("_onderwijsflow_source", {}).get("help", command.help)
            if source and i18n.gettext(source) == source:
                untranslated.append(path)
    assert not untranslated, f"commands whose help has no Dutch: {untranslated}"


def test_english_word_detector_ignores_what_a_person_typed() -> None:
    assert english_words("Regio 'the best' aangemaakt; zie --in-state en piet@example.org") == []
    assert english_words("Region leiden created") == ["created"]
    assert english_words("1 beroepsgroep partner needed, 0 found") == ["found", "needed"]
    assert json.dumps(english_words("")) == "[]"
