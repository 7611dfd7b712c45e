"""The web view (issue 10), served for real on a loopback port and read with httpx.

The server is uvicorn in a thread of the test process, on a free port, over the demonstration
database (the shipped workflows); the requests are real HTTP. The browser tests are in
``test_web_browser.py``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support import free_port

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
httpx = pytest.importorskip("httpx", reason="httpx is not installed")

from tests.support import invoke  # noqa: E402

pytestmark = pytest.mark.shipped_workflows

SLUG = "lindedal"



@contextmanager
def running(db: Path, *, proxies: tuple[str, ...] = (), local_user: str | None = None,
            user_header: str = "X-Remote-User") -> Iterator[str]:
    """The web view over `db`, served by uvicorn in a thread; its base URL."""
    import uvicorn

    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.web.access import parse_proxies
    from onderwijsflow.web.server import build

    app = Onderwijsflow.open(db=f"sqlite:///{db}")
    asgi = build(app, proxies=parse_proxies(proxies), user_header=user_header, local_user=local_user)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, proxy_headers=False,
                                           access_log=False, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demonstration database (ten invented regions on the 2025 workflows)."""
    from onderwijsflow.demo import run_demo

    path = tmp_path_factory.mktemp("web") / "onderwijsflow-demo.db"
    run_demo(path, quiet=True)
    return path


@pytest.fixture(scope="module")
def base(demo_db: Path) -> Iterator[str]:
    with running(demo_db, local_user="joost") as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[Any]:
    with httpx.Client(base_url=base, timeout=60) as c:
        yield c


# --- pages ----------------------------------------------------------------------------------------


def test_the_board_shows_the_national_report_live(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "National picture of the onderwijsregio" in text
    assert 'class="chart"' in text  # a bar chart per workflow
    assert "Requirements holding back the most regions" in text
    assert "Regions without a coordinator" in text
    assert 'href="/static/style.css"' in text and "<script" not in text


def test_the_board_shows_the_coverage_map_once_reference_data_is_loaded(
    demo_db: Path, tmp_path: Path
) -> None:
    """The map of the HTML report's coverage section, on the board: with the invented
    reference data and two municipalities in a region, the SVG map with its legend."""
    import shutil

    from onderwijsflow.service import Onderwijsflow

    db = tmp_path / "coverage.db"
    shutil.copy(demo_db, db)
    app = Onderwijsflow.open(db=f"sqlite:///{db}")
    try:
        app.import_example(year=2025)
        app.add_municipality(SLUG, "GM9001")
        app.add_municipality(SLUG, "GM9002")
    finally:
        app.close()
    with running(db) as url, httpx.Client(base_url=url, timeout=60) as client:
        text = client.get("/").text
    assert "Coverage of the national network" in text
    assert "<svg" in text and "Legend" in text
    assert "White spots: municipalities in no region" in text


def test_the_regions_list_searches_and_filters(client: Any) -> None:
    every = client.get("/regios").text
    assert every.count('href="/regios/') >= 10
    found = client.get("/regios", params={"q": "linde"}).text
    assert f'href="/regios/{SLUG}"' in found and 'href="/regios/beekdal"' not in found
    by_coordinator = client.get("/regios", params={"coordinator": "anne@re.example"}).text
    assert 'href="/regios/beekdal"' in by_coordinator and f'href="/regios/{SLUG}"' not in by_coordinator
    by_state = client.get("/regios", params={"status": "regiovorming:verkenning"}).text
    assert 'href="/regios/beekdal"' in by_state and f'href="/regios/{SLUG}"' not in by_state
    # joost is the server's user (no proxy): his regions are lindedal and duinzicht.
    mine = client.get("/regios", params={"mijn": "1"}).text
    assert f'href="/regios/{SLUG}"' in mine and 'href="/regios/duinzicht"' in mine
    assert 'href="/regios/beekdal"' not in mine


def test_the_dossier_shows_everything_about_a_region(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="onderwijsflow.web.access"):
        page = client.get(f"/regios/{SLUG}")
    assert page.status_code == 200
    text = page.text
    for part in ("Regio Lindedal", 'id="tijdlijn"', 'id="termijnen"', 'id="partners"', 'id="mensen"',
                 'id="documenten"', 'id="verslagen"', "<svg", 'class="current"',
                 f'href="/regios/{SLUG}/gebeurtenis/', f"/agenda/regio/{SLUG}.ics",
                 f"/regios/{SLUG}/dossier.html"):
        assert part in text, part
    views = [json.loads(r.getMessage()) for r in caplog.records if r.name == "onderwijsflow.web.access"]
    assert views and views[-1]["region"] == SLUG and views[-1]["user"] == "joost"
    assert views[-1]["view"] == "dossier" and views[-1]["at"]


def test_the_way_to_a_target_state_says_what_is_missing(client: Any) -> None:
    page = client.get(f"/regios/{SLUG}", params={"naar": "opgeheven", "zaak": "regiovorming"})
    assert page.status_code == 200
    assert "Way to ‘Opgeheven’" in page.text


def test_an_event_page_shows_its_evidence(client: Any) -> None:
    history = client.get(f"/api/regions/{SLUG}/history").json()
    decided = next(e for e in history["events"] if e["decision"])
    page = client.get(f"/regios/{SLUG}/gebeurtenis/{decided['seq']}")
    assert page.status_code == 200
    assert decided["hash"] in page.text and decided["decision"]["ref"] in page.text
    assert "passed" in page.text  # the evidence of the requirements
    assert client.get(f"/regios/{SLUG}/gebeurtenis/99999").status_code == 404


def test_unknown_pages_are_404(client: Any) -> None:
    assert client.get("/regios/bestaat-niet").status_code == 404
    assert client.get("/nergens").status_code == 404
    assert client.get("/api/regions/bestaat-niet").json()["status"] == 404


# --- JSON API and calendar feeds ------------------------------------------------------------------


def test_the_api_gives_the_shapes_of_the_cli(client: Any, demo_db: Path) -> None:
    env: dict[str, str | None] = {"ONDERWIJSFLOW_DB": f"sqlite:///{demo_db}", "ONDERWIJSFLOW_LANG": "en",
                                  "ONDERWIJSFLOW_NOW": None, "ONDERWIJSFLOW_ACTOR": None,
                                  "ONDERWIJSFLOW_CONFIG": None, "ONDERWIJSFLOW_WORKFLOWS": None}

    def cli(*args: str) -> Any:
        run = invoke([*args, "--json"], env)
        assert run.code == 0, str(run)
        return run.json()

    assert client.get("/api/regions").json() == cli("region", "list")
    assert client.get(f"/api/regions/{SLUG}").json() == cli("region", "show", SLUG)
    assert client.get(f"/api/regions/{SLUG}/history").json() == cli("history", SLUG)
    check = client.get(f"/api/regions/{SLUG}/check", params={"workflow": "regiovorming"}).json()
    assert set(check) >= {"region", "workflow", "state", "triggers"}
    assert check == cli("check", SLUG, "--workflow", "regiovorming")
    report = client.get("/api/report").json()
    assert set(report) >= {"totals", "workflows", "blocking", "overdue", "upcoming"}
    assert report["totals"] == cli("report")["totals"]
    assert client.get("/api/deadlines", params={"region": SLUG}).json() == cli(
        "deadlines", "--region", SLUG)
    refused = client.get(f"/api/regions/{SLUG}/check")  # several cases: name one
    assert refused.status_code >= 400 and refused.json()["error"]
    health = client.get("/health").json()
    assert health["ok"] is True and health["revision"]


def test_the_calendar_feeds_are_the_deadlines_ics(client: Any) -> None:
    from icalendar import Calendar

    feed = client.get(f"/agenda/regio/{SLUG}.ics")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    uids = {str(e["UID"]) for e in calendar.walk("VEVENT")}
    rows = client.get("/api/deadlines", params={"region": SLUG}).json()["deadlines"]
    assert uids == {r["uid"] for r in rows}
    joost = Calendar.from_ical(client.get("/agenda/coordinator/joost@re.example.ics").content)
    assert uids <= {str(e["UID"]) for e in joost.walk("VEVENT")}
    assert client.get("/agenda/coordinator/niemand@example.org.ics").status_code == 404


def test_the_dossier_downloads_as_one_self_contained_file(client: Any) -> None:
    found = client.get(f"/regios/{SLUG}/dossier.html")
    assert found.status_code == 200
    assert "attachment" in found.headers["content-disposition"]
    text = found.text
    assert "<style>" in text and "<script" not in text and 'href="/static' not in text
    assert "The audit log of this region is intact." in text
    head = client.get(f"/api/regions/{SLUG}/history", params={"all": "1"}).json()["events"][-1]
    assert head["hash"] in text and "Chain head: event" in text


def test_the_dossier_downloads_as_pdf_when_chromium_is_there(client: Any) -> None:
    from onderwijsflow.web.dossier import chromium

    if chromium() is None:
        pytest.skip("chromium is not installed: the dossier page offers no PDF")
    found = client.get(f"/regios/{SLUG}/dossier.pdf")
    assert found.status_code == 200 and found.content.startswith(b"%PDF")
    assert found.headers["content-type"] == "application/pdf"


# --- read-only ---------------------------------------------------------------------------------------

ROUTES = ["/", "/regios", f"/regios/{SLUG}", f"/regios/{SLUG}/gebeurtenis/1",
          f"/regios/{SLUG}/dossier.html", f"/regios/{SLUG}/dossier.pdf", f"/agenda/regio/{SLUG}.ics",
          "/agenda/coordinator/joost@re.example.ics", "/api/regions", f"/api/regions/{SLUG}",
          f"/api/regions/{SLUG}/history", f"/api/regions/{SLUG}/check", "/api/report",
          "/api/deadlines", "/health", "/static/style.css", "/bestaat-niet"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_write_endpoint_exists(client: Any, method: str) -> None:
    for route in ROUTES:
        answer = client.request(method, route, content=b"{}")
        assert answer.status_code == 405, (method, route)
        assert answer.headers["allow"] == "GET, HEAD"


def test_head_is_answered(client: Any) -> None:
    assert client.head("/").status_code == 200
    assert client.head(f"/regios/{SLUG}").status_code == 200


# --- who may look ----------------------------------------------------------------------------------


def _who(base: str, headers: dict[str, str]) -> str:
    page = httpx.get(f"{base}/regios", headers=headers, timeout=60).text
    return page.split('<p class="who">')[1].split("</p>")[0]


def test_the_user_header_of_a_trusted_proxy_is_believed(demo_db: Path) -> None:
    with running(demo_db, proxies=("127.0.0.1",)) as base:
        assert "anne" in _who(base, {"X-Remote-User": "anne"})
        assert "anonymous" in _who(base, {})
        assert "My regions" in httpx.get(f"{base}/regios", headers={"X-Remote-User": "anne"}).text


def test_the_user_header_from_anyone_else_is_ignored(demo_db: Path, caplog: pytest.LogCaptureFixture) -> None:
    with running(demo_db, proxies=("10.20.30.40", "192.168.0.0/16")) as base:
        assert "anonymous" in _who(base, {"X-Remote-User": "anne"})
        with caplog.at_level(logging.INFO, logger="onderwijsflow.web.access"):
            httpx.get(f"{base}/regios/{SLUG}", headers={"X-Remote-User": "anne"}, timeout=60)
    view = json.loads([r for r in caplog.records if r.name == "onderwijsflow.web.access"][-1].getMessage())
    assert view["user"] is None and view["via"] == "anonymous" and view["client"] == "127.0.0.1"


def test_a_custom_user_header(demo_db: Path) -> None:
    with running(demo_db, proxies=("127.0.0.0/8",), user_header="X-Forwarded-User") as base:
        assert "piet" in _who(base, {"X-Forwarded-User": "piet"})
        assert "anonymous" in _who(base, {"X-Remote-User": "piet"})


def test_the_viewer_rules() -> None:
    from onderwijsflow.web.access import Viewers, is_loopback, matches_user, parse_proxies

    viewers = Viewers(proxies=parse_proxies(["10.0.0.0/8", "::1"]), header="X-Remote-User")
    assert viewers.identify("10.1.2.3", {"x-remote-user": "anne"}).user == "anne"
    assert viewers.identify("::1", {"x-remote-user": "anne"}).user == "anne"
    assert viewers.identify("127.0.0.1", {"x-remote-user": "anne"}).user is None
    assert viewers.identify(None, {"x-remote-user": "anne"}).user is None
    assert Viewers(local_user="root").identify("127.0.0.1", {"x-remote-user": "anne"}).user == "root"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
    assert matches_user("anne", "anne@re.example", {})
    assert matches_user("Anne@RE.example", "anne@re.example", {})
    assert matches_user("a.jansen", "anne@re.example", {"a.jansen": "anne@re.example"})
    assert not matches_user("ann", "anne@re.example", {})
    assert not matches_user(None, "anne@re.example", {})


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::"])
def test_an_open_bind_without_a_proxy_is_refused(tmp_path: Path, host: str) -> None:
    env: dict[str, str | None] = {"ONDERWIJSFLOW_DB": f"sqlite:///{tmp_path / 'none.db'}"}
    run = invoke(["serve", "--host", host], env)
    assert run.code == 2, str(run)
    assert "--trusted-proxy" in run.sentence()
    assert not (tmp_path / "none.db").exists()


def test_a_bad_proxy_address_is_a_usage_error(tmp_path: Path) -> None:
    env: dict[str, str | None] = {"ONDERWIJSFLOW_DB": f"sqlite:///{tmp_path / 'none.db'}"}
    run = invoke(["serve", "--host", "0.0.0.0", "--trusted-proxy", "proxy.example"], env)
    assert run.code == 2 and "proxy.example" in run.sentence()


# --- the dossier to file ----------------------------------------------------------------------------


def test_the_dossier_command_writes_html(demo_db: Path, tmp_path: Path) -> None:
    env: dict[str, str | None] = {"ONDERWIJSFLOW_DB": f"sqlite:///{demo_db}", "ONDERWIJSFLOW_NOW": None}
    out = tmp_path / "dossier.html"
    run = invoke(["dossier", SLUG, "--out", str(out), "--json"], env)
    assert run.code == 0, str(run)
    result = run.json()
    assert result["audit_ok"] is True and result["head"]["hash"] in out.read_text(encoding="utf-8")
    assert invoke(["dossier", SLUG, "--out", str(tmp_path / "d.docx")], env).code == 2
    assert invoke(["dossier", "bestaat-niet", "--out", str(out)], env).code == 4


def test_the_dossier_as_pdf_or_one_sentence_without_chromium(demo_db: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from onderwijsflow.web.dossier import chromium

    env: dict[str, str | None] = {"ONDERWIJSFLOW_DB": f"sqlite:///{demo_db}", "ONDERWIJSFLOW_NOW": None,
                                  "ONDERWIJSFLOW_CHROMIUM": str(tmp_path / "no-chromium-here")}
    out = tmp_path / "dossier.pdf"
    missing = invoke(["dossier", SLUG, "--out", str(out)], env)
    assert missing.code == 2 and "Chromium" in missing.sentence() and not out.exists()
    if chromium() is None:
        pytest.skip("chromium is not installed: the PDF itself is not made")
    env["ONDERWIJSFLOW_CHROMIUM"] = None
    made = invoke(["dossier", SLUG, "--out", str(out)], env)
    assert made.code == 0, str(made)
    assert out.read_bytes().startswith(b"%PDF")


def test_the_serve_command_serves_and_logs_views_to_a_file(demo_db: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    port, log = free_port(), tmp_path / "views.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env.update({"ONDERWIJSFLOW_DB": f"sqlite:///{demo_db}", "ONDERWIJSFLOW_LANG": "nl"})
    server = subprocess.Popen([sys.executable, "-m", "onderwijsflow", "serve", "--port", str(port),
                               "--access-log", str(log)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        page = httpx.get(f"http://127.0.0.1:{port}/regios/{SLUG}", timeout=60)
        assert page.status_code == 200 and '<html lang="nl">' in page.text
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    view = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert view["region"] == SLUG and view["view"] == "dossier" and view["client"] == "127.0.0.1"
    assert json.dumps(view, ensure_ascii=False) in err  # also on stderr


def test_the_server_reads_through_a_connection_that_cannot_write(
    demo_db: Path, tmp_path: Path, backend_url: str
) -> None:
    """`serve` opens the database read-only in the database itself (SQLite mode=ro,
    PostgreSQL READ ONLY transactions): reading works, any write is refused by the database,
    whatever the login may do."""
    from onderwijsflow.errors import OnderwijsflowError
    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.store.db import read_only_url

    assert read_only_url("sqlite:///x.db") == "sqlite:///x.db?mode=ro"
    assert "default_transaction_read_only" in read_only_url("postgresql://u@h/db")
    writer = Onderwijsflow.open(db=backend_url)
    try:
        writer.init()
        writer.create_region("twente", name="Twente")
    finally:
        writer.close()
    reader = Onderwijsflow.open(db=read_only_url(backend_url))
    try:
        assert reader.show_region("twente")["name"] == "Twente"
        with pytest.raises(OnderwijsflowError, match="read-only"):
            reader.create_region("rijnmond", name="Rijnmond")
    finally:
        reader.close()
    again = Onderwijsflow.open(db=backend_url)
    try:
        assert [r["slug"] for r in again.list_regions()] == ["twente"]
    finally:
        again.close()
