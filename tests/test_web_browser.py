"""The web view in a real browser: Debian's Chromium driven through Playwright (issue 10).

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (or
``ONDERWIJSFLOW_CHROMIUM``). One browser for the whole module. Screenshots are kept under
``ONDERWIJSFLOW_ARTIFACTS`` when set, else in the module's temporary directory. The
accessibility check injects axe-core (``npm install axe-core``, see ``.ci/run``) and allows
no serious or critical violation. Without Chromium, Playwright or axe-core the tests skip
and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(pip install playwright; no browser download needed)")

from tests.test_web import SLUG, demo_db, running  # noqa: E402, F401

pytestmark = pytest.mark.shipped_workflows

CHROMIUM = os.environ.get("ONDERWIJSFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

#: Where axe-core may be: ONDERWIJSFLOW_AXE, the cache .ci/run installs it in, node_modules here.
AXE_PLACES = [os.environ.get("ONDERWIJSFLOW_AXE", ""),
              str(Path.home() / ".cache/onderwijsflow-tests/node_modules/axe-core/axe.min.js"),
              str(Path(__file__).resolve().parents[1] / "node_modules/axe-core/axe.min.js")]


def axe_script() -> str | None:
    return next((Path(p).read_text(encoding="utf-8") for p in AXE_PLACES if p and Path(p).is_file()),
                None)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("ONDERWIJSFLOW_ARTIFACTS")
    path = Path(chosen) / "web" if chosen else tmp_path_factory.mktemp("web-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(demo_db: Path) -> Iterator[str]:  # noqa: F811
    with running(demo_db, local_user="joost") as url:
        yield url


@pytest.fixture
def tab(chromium_browser: Any, site: str, tmp_path: Path) -> Iterator[Any]:
    context = chromium_browser.new_context(base_url=site, accept_downloads=True, locale="nl-NL",
                                  viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def test_a_coordinator_finds_a_region_and_follows_its_evidence(tab: Any, artifacts: Path,
                                                               tmp_path: Path) -> None:
    from icalendar import Calendar

    tab.goto("/")
    assert tab.locator("h1").inner_text().startswith("National picture")
    tab.screenshot(path=str(artifacts / "board.png"), full_page=True)

    tab.get_by_role("link", name="Regions", exact=True).first.click()
    tab.get_by_label("Search (name or slug)").fill("linde")
    tab.get_by_role("button", name="Search").click()
    tab.wait_for_url("**/regios?q=linde**")
    rows = tab.locator("main table tbody tr")
    assert rows.count() == 1
    tab.screenshot(path=str(artifacts / "regions-search.png"), full_page=True)

    tab.get_by_role("link", name="Regio Lindedal (fictief)").click()
    tab.wait_for_url(f"**/regios/{SLUG}")
    assert tab.locator("svg.diagram .current").count() >= 1
    tab.screenshot(path=str(artifacts / "dossier.png"), full_page=True)

    # The evidence of a transition: the first link in the timeline with evidence.
    tab.locator("#tijdlijn + table a", has_text="evidence").first.click()
    tab.wait_for_url(f"**/regios/{SLUG}/gebeurtenis/*")
    assert tab.get_by_role("heading", name="Evidence").is_visible()
    assert tab.locator("td .ok, td .bad").count() >= 1
    tab.screenshot(path=str(artifacts / "event.png"), full_page=True)
    tab.get_by_role("link", name="Back to the dossier of Regio Lindedal (fictief)").click()
    tab.wait_for_url(f"**/regios/{SLUG}#gebeurtenis-*")

    with tab.expect_download() as ics:
        tab.evaluate("url => { const a = document.createElement('a'); a.href = url; "
                      "a.download = 'agenda.ics'; document.body.appendChild(a); a.click(); }",
                      f"/agenda/regio/{SLUG}.ics")
    saved = tmp_path / "agenda.ics"
    ics.value.save_as(saved)
    calendar = Calendar.from_ical(saved.read_bytes())
    assert calendar.walk("VEVENT"), "the feed holds the region's deadlines"

    with tab.expect_download() as dossier:
        tab.get_by_role("link", name="Download the dossier (HTML)").click()
    kept = artifacts / f"dossier-{SLUG}.html"
    dossier.value.save_as(kept)
    text = kept.read_text(encoding="utf-8")
    assert "Chain head: event" in text and "The audit log of this region is intact." in text


def test_the_way_to_a_target_without_javascript(chromium_browser: Any, site: str, artifacts: Path) -> None:
    context = chromium_browser.new_context(base_url=site, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/regios/{SLUG}")
    page.get_by_label("Show the way to").first.select_option("opgeheven")
    page.get_by_role("button", name="Show the way").first.click()
    page.wait_for_url("**naar=opgeheven**")
    assert page.get_by_role("heading", name="Way to ‘Opgeheven’").is_visible()
    page.screenshot(path=str(artifacts / "dossier-way.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("path", ["/", "/regios", f"/regios/{SLUG}", f"/regios/{SLUG}/gebeurtenis/11"])
def test_no_serious_accessibility_violations(tab: Any, path: str, artifacts: Path) -> None:
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not installed (npm install --prefix ~/.cache/onderwijsflow-tests "
                    "axe-core, as .ci/run does, or set ONDERWIJSFLOW_AXE to axe.min.js)")
    tab.goto(path)
    tab.add_script_tag(content=script)
    result = tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    (artifacts / f"axe{path.replace('/', '_') or '_'}.txt").write_text(
        "\n".join(f"{v['impact']}: {v['id']}: {v['help']} ({len(v['nodes'])})"
                  for v in result["violations"]) + "\n", encoding="utf-8")
    assert not bad, "\n".join(
        f"{v['impact']} {v['id']}: {v['help']}: {[n['target'] for n in v['nodes'][:3]]}" for v in bad)
