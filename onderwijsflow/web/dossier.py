"""A region's dossier: everything the CLI can tell about one region, gathered for a page or
a file, through the library's public API.

:func:`gather` reads it (``show_region``, ``check`` per case, ``history``, ``list_records``,
``deadlines``; with ``audit=True`` also ``verify_audit`` for the region); :func:`to_html`
renders it as one self-contained document (inline CSS and SVG, no scripts, no external
assets) and :func:`to_pdf` prints that document to PDF with headless Chromium.

Why Chromium for the PDF rather than WeasyPrint: the browser tests already require Debian's
``chromium``, it lays out the same HTML and print CSS the browser shows (no second layout
engine to keep in step), and WeasyPrint would add Pango and friends to a server that has no
other use for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from onderwijsflow.errors import OnderwijsflowError, Refused, UsageError
from onderwijsflow.i18n import _
from onderwijsflow.web.diagram import workflow_svg

if TYPE_CHECKING:
    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.shapes import CheckJson, DeadlineJson, RecordsJson, RegionJson

__all__ = ["CaseView", "Dossier", "chromium", "gather", "to_html", "to_pdf"]

#: Where to find Chromium for PDF output (the first that exists); ``ONDERWIJSFLOW_CHROMIUM``
#: names another.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass
class CaseView:
    """One case of the region as the dossier shows it."""

    key: str
    workflow: str
    round: str | None
    title: str
    state: str
    state_label: str
    version: int
    opened: str
    entered: str
    final: bool
    facts: dict[str, Any]
    check: CheckJson | None
    svg: Markup
    states: list[tuple[str, str]]
    target: str | None = None
    path: list[dict[str, Any]] | None = None
    path_problem: str | None = None


@dataclass
class Dossier:
    """A region's dossier (see the module's docstring)."""

    region: RegionJson
    cases: list[CaseView]
    events: list[dict[str, Any]]
    deadlines: list[DeadlineJson]
    records: RecordsJson
    generated_at: str
    audit: dict[str, Any] | None = None
    fact_labels: dict[str, str] = field(default_factory=dict)
    fact_types: dict[str, str] = field(default_factory=dict)
    record_labels: dict[str, str] = field(default_factory=dict)

    @property
    def head(self) -> dict[str, Any] | None:
        """The head of the region's chain: its last event (seq and hash)."""
        return self.events[-1] if self.events else None

    def state_label(self, workflow: str | None, state: str | None) -> str:
        """A state's label in its workflow, for the timeline ("" for none)."""
        if not state:
            return ""
        for case in self.cases:
            if case.workflow == workflow:
                return dict(case.states).get(state, state)
        return state


def gather(app: Onderwijsflow, slug: str, *, targets: dict[str, str] | None = None,
           audit: bool = False) -> Dossier:
    """Read region `slug`'s dossier.

    Args:
        targets: case key (``subsidie/2025``) -> a state to show the way to.
        audit: also verify the region's hash chain (for the dossier file).

    Raises:
        NotFound: no region `slug`.
    """
    from onderwijsflow.clock import iso_local
    from onderwijsflow.scheduler.deadlines import deadlines

    region = app.show_region(slug)
    cases = [_case(app, slug, key, case, (targets or {}).get(key))
             for key, case in region["cases"].items()]
    declared = app.declared_facts()
    dossier = Dossier(
        region=region, cases=cases,
        events=list(app.history(slug, all_events=True)["events"]),
        deadlines=deadlines(app, region=slug),
        records=app.list_records(slug),
        generated_at=iso_local(app.now()),
        fact_labels={n: f.label or n for n, f in declared.items()},
        fact_types={n: str(f.type) for n, f in declared.items()},
        record_labels=_record_labels(app, [c.workflow for c in cases]),
    )
    if audit:
        dossier.audit = app.verify_audit(slug)
    return dossier


def _case(app: Onderwijsflow, slug: str, key: str, case: Any, target: str | None) -> CaseView:
    workflow = key.split("/")[0]
    definition = app.workflow_definition(workflow, case["version"])
    check: CheckJson | None = None
    path = problem = None
    final = bool(definition and definition.states.get(case["state"])
                 and definition.states[case["state"]].final)
    if not final:
        try:
            check = app.check(slug, workflow=workflow, round=case["round"], target=target)
            path = [dict(step) for step in check.get("path", [])] if target else None
        except Refused as err:
            problem = err.message
            check = app.check(slug, workflow=workflow, round=case["round"])
    states = [(n, s.label) for n, s in definition.states.items()] if definition else []
    ident = "wf-" + key.replace("/", "-")
    return CaseView(
        key=key, workflow=workflow, round=case["round"],
        title=definition.title if definition else workflow,
        state=case["state"], state_label=dict(states).get(case["state"], case["state"]),
        version=case["version"], opened=case["opened"], entered=case["entered"], final=final,
        facts=case.get("facts", {}), check=check,
        svg=Markup(workflow_svg(definition, case["state"], ident)) if definition else Markup(""),
        states=states, target=target, path=path, path_problem=problem)


def _record_labels(app: Onderwijsflow, workflows: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for workflow in workflows:
        definition = app.workflow_definition(workflow)
        for kind, record in (definition.records.items() if definition else ()):
            labels.setdefault(kind, record.label)
    return labels


def to_html(dossier: Dossier) -> str:
    """The dossier as one self-contained HTML document (history, evidence, audit result)."""
    from onderwijsflow.web.render import render, stylesheet

    return render("dossier_file.html", d=dossier, css=stylesheet())


def chromium() -> str | None:
    """The Chromium executable to print PDFs with, if there is one."""
    named = os.environ.get("ONDERWIJSFLOW_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def to_pdf(html: str, *, timeout: float = 120) -> bytes:
    """Print `html` to PDF with headless Chromium (A4, its print stylesheet).

    Raises:
        UsageError: no Chromium is installed (exit 2).
        OnderwijsflowError: Chromium failed.
    """
    browser = chromium()
    if browser is None:
        raise UsageError(_("a PDF needs Chromium (apt-get install chromium, or set "
                           "ONDERWIJSFLOW_CHROMIUM); write --out FILE.html instead"))
    with tempfile.TemporaryDirectory(prefix="onderwijsflow-dossier-") as tmp:
        source, target = Path(tmp) / "dossier.html", Path(tmp) / "dossier.pdf"
        source.write_text(html, encoding="utf-8")
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-extensions", f"--user-data-dir={Path(tmp) / 'profile'}",
                   "--no-pdf-header-footer", f"--print-to-pdf={target}", source.as_uri()]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout, check=False,
                           env={**os.environ, "HOME": tmp})
        except (OSError, subprocess.TimeoutExpired) as err:
            raise OnderwijsflowError(_("Chromium could not print the dossier: {problem}")
                                     .format(problem=err)) from None
        if not target.exists() or target.stat().st_size == 0:
            raise OnderwijsflowError(_("Chromium could not print the dossier"))
        return target.read_bytes()
