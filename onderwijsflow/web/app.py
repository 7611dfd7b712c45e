"""The Starlette application of ``onderwijsflow serve``: pages, calendar feeds and a JSON API,
read-only.

Only GET and HEAD exist: a request with any other method is answered 405 before routing, on
every path, so no write endpoint can appear by accident. Pages work without JavaScript.

The library object is shared by the worker threads Starlette runs the handlers in; it makes
no promise to be thread-safe (its policy and catalog are read on first use), so every call
into it holds one lock. Reads are short (design §7: a dossier within 100 ms), so this costs
little, and it keeps a SQLite connection to one thread at a time.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Any, TypeVar

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from onderwijsflow import i18n
from onderwijsflow.errors import NotFound, OnderwijsflowError, Refused, UsageError
from onderwijsflow.i18n import _
from onderwijsflow.web.access import Identity, Viewers, log_view, matches_user
from onderwijsflow.web.render import render

if TYPE_CHECKING:
    from onderwijsflow.service import Onderwijsflow

__all__ = ["Site", "create_app"]

T = TypeVar("T")

#: How many rows a list on the board or the regions page shows (the JSON API has them all).
BOARD_ROWS = 50
REGION_ROWS = 200

#: HTTP status per error class (the CLI's exit codes, in HTTP).
_STATUS = {NotFound: 404, UsageError: 400, Refused: 409}


@dataclass
class Site:
    """What the handlers share: the library, who may look, and how PDFs are made."""

    app: Onderwijsflow
    viewers: Viewers = field(default_factory=Viewers)
    #: Chromium for the PDF download (None: no PDF button).
    chromium: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def library(self) -> Iterator[Onderwijsflow]:
        """The library, for one call at a time (see the module's docstring)."""
        with self.lock:
            yield self.app

    def call(self, function: Callable[[Onderwijsflow], T]) -> T:
        """`function(app)` under the lock."""
        with self.library() as app:
            return function(app)


class OnlyRead:
    """ASGI middleware: 405 for every method but GET and HEAD, on every path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            response = PlainTextResponse(_("This view is read-only: only GET and HEAD exist."),
                                         status_code=405, headers={"Allow": "GET, HEAD"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(site: Site) -> Starlette:
    """The ASGI application over `site`."""
    pages = _Pages(site)
    api = _Api(site)
    routes = [
        Route("/", pages.board, methods=["GET"]),
        Route("/regios", pages.regions, methods=["GET"]),
        Route("/regios/{slug}", pages.dossier, methods=["GET"]),
        Route("/regios/{slug}/gebeurtenis/{seq:int}", pages.event, methods=["GET"]),
        Route("/regios/{slug}/dossier.html", pages.dossier_html, methods=["GET"]),
        Route("/regios/{slug}/dossier.pdf", pages.dossier_pdf, methods=["GET"]),
        Route("/agenda/regio/{slug}.ics", api.region_ics, methods=["GET"]),
        Route("/agenda/coordinator/{who}.ics", api.coordinator_ics, methods=["GET"]),
        Route("/api/regions", api.regions, methods=["GET"]),
        Route("/api/regions/{slug}", api.region, methods=["GET"]),
        Route("/api/regions/{slug}/history", api.history, methods=["GET"]),
        Route("/api/regions/{slug}/check", api.check, methods=["GET"]),
        Route("/api/report", api.report, methods=["GET"]),
        Route("/api/deadlines", api.deadlines, methods=["GET"]),
        Route("/health", api.health, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(files("onderwijsflow.web").joinpath("static"))),
              name="static"),
    ]
    web = Starlette(routes=routes, exception_handlers={
        OnderwijsflowError: pages.library_error, HTTPException: pages.http_error})
    web.state.site = site
    return OnlyRead(web)  # type: ignore[return-value]


def _now_iso(site: Site) -> str:
    """The wall-clock moment of a view (Europe/Amsterdam), whatever clock the library runs."""
    from onderwijsflow.clock import iso_local

    return iso_local(dt.datetime.now(dt.UTC))


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/agenda/", "/health"))


class _Pages:
    """The HTML pages."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def viewer(self, request: Request) -> Identity:
        client = request.client.host if request.client else None
        return self.site.viewers.identify(client, request.headers)

    def page(self, request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(template, viewer=self.viewer(request), **context),
                            status_code=code)

    # --- the national board ------------------------------------------------------------

    def board(self, request: Request) -> HTMLResponse:
        from onderwijsflow.reporting import render as report_text
        from onderwijsflow.reporting.national import national_report

        report = self.site.call(national_report)
        groups = report["workflows"]
        return self.page(
            request, "board.html", page="board", report=report, title=_(report_text.TITLE),
            totals=report_text.total_rows(report), limit=BOARD_ROWS,
            headings=[report_text.workflow_heading(g) for g in groups],
            charts=[Markup(report_text.bar_chart(g, f"chart-{i}")) for i, g in enumerate(groups)],
            deadline_sections=[
                (_(report_text.CONVERSATIONS_TITLE), report.get("overdue_conversations", [])),
                (_(report_text.OVERDUE_TITLE), report["overdue"]),
                (report_text.upcoming_title(report), report["upcoming"])],
            region_sections=[
                (_(report_text.NO_COORDINATOR_TITLE), report["without_coordinator"]),
                (_(report_text.NO_LEAD_TITLE), report["without_lead"])],
            coverage=_coverage_html(report))

    # --- the regions ---------------------------------------------------------------------

    def regions(self, request: Request) -> HTMLResponse:
        from onderwijsflow.web.data import region_index

        viewer = self.viewer(request)
        query = request.query_params
        q = query.get("q", "").strip()
        status, coordinator = query.get("status", ""), query.get("coordinator", "")
        province, mine = query.get("provincie", ""), query.get("mijn", "") not in ("", "0")
        index = self.site.call(region_index)
        emails = {name: str(actor.email) for name, actor in self.site.app.config.actors.items()
                  if actor.email}
        needle = q.lower()
        found = [r for r in index.regions
                 if (not needle or needle in r["slug"] or needle in r["name"].lower())
                 and (not status or status in r["codes"])
                 and (not coordinator or r["coordinator"] == coordinator)
                 and (not province or province in r["provinces"])
                 and (not mine or matches_user(viewer.user, r["coordinator"], emails))]
        return self.page(request, "regions.html", page="regions", q=q, status=status,
                         coordinator=coordinator, province=province, mine=mine,
                         found=found, shown=found[:REGION_ROWS], state_choices=index.states,
                         coordinators=index.coordinators, provinces=index.provinces)

    # --- a region's dossier ---------------------------------------------------------------

    def dossier(self, request: Request) -> HTMLResponse:
        from onderwijsflow.web.dossier import gather

        slug = request.path_params["slug"]
        target, case = request.query_params.get("naar"), request.query_params.get("zaak")
        with self.site.library() as app:
            targets = {}
            if target:
                keys = app.show_region(slug)["cases"] if case is None else [case]
                targets = {key: target for key in keys}
            found = gather(app, slug, targets=targets)
        if target:  # only the cases whose workflow has that state
            for view in found.cases:
                if view.target and view.target not in dict(view.states):
                    view.target, view.path, view.path_problem = None, None, None
        log_view(self.viewer(request), region=slug, path=str(request.url.path), at=_now_iso(self.site))
        return self.page(request, "dossier.html", page="dossier", d=found,
                         pdf=self.site.chromium is not None)

    def event(self, request: Request) -> HTMLResponse:
        slug, seq = request.path_params["slug"], request.path_params["seq"]
        with self.site.library() as app:
            found = app.event(slug, seq)
            region = app.show_region(slug)
            e = found["event"]
            labels = {state: app.state_label(e["workflow"], state)
                      for state in (e["from"], e["to"]) if e["workflow"] and state}
            definition = app.workflow_definition(e["workflow"]) if e["workflow"] else None
            step = (definition.transition(e["from"] or "", e["trigger"] or "")
                    if definition is not None else None)
            last = region_last_seq(app, slug)
        log_view(self.viewer(request), region=slug, path=str(request.url.path), at=_now_iso(self.site),
                 what="event")
        return self.page(request, "event.html", page="event", e=e, region=region,
                         step=(step.label or step.trigger) if step is not None else None,
                         from_label=labels.get(e["from"], e["from"]),
                         to_label=labels.get(e["to"], e["to"]),
                         previous=seq - 1 if seq > 1 else None,
                         next=seq + 1 if seq < last else None)

    def _file(self, request: Request) -> Any:
        from onderwijsflow.web.dossier import gather

        slug = request.path_params["slug"]
        found = self.site.call(lambda app: gather(app, slug, audit=True))
        log_view(self.viewer(request), region=slug, path=str(request.url.path), at=_now_iso(self.site),
                 what="dossier_file")
        return found

    def dossier_html(self, request: Request) -> Response:
        from onderwijsflow.web.dossier import to_html

        found = self._file(request)
        return Response(to_html(found), media_type="text/html; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="dossier-{found.region["slug"]}.html"'})

    def dossier_pdf(self, request: Request) -> Response:
        from onderwijsflow.web.dossier import to_html, to_pdf

        if self.site.chromium is None:
            raise HTTPException(404)
        found = self._file(request)
        return Response(to_pdf(to_html(found)), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="dossier-{found.region["slug"]}.pdf"'})

    # --- errors ------------------------------------------------------------------------------

    def library_error(self, request: Request, exc: Exception) -> Response:
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 500)
        message = exc.message if isinstance(exc, OnderwijsflowError) else str(exc)
        if _is_api(request):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        title = _("Not found") if status == 404 else _("This cannot be shown")
        return self.page(request, "error.html", code=status, page="error", title=title,
                         message=message)

    def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = (_("There is no page at this address.") if status == 404
                   else _("This request cannot be answered (HTTP {status}).").format(status=status))
        if _is_api(request):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        return self.page(request, "error.html", code=status, page="error",
                         title=_("Not found") if status == 404 else _("This cannot be shown"),
                         message=message)


def region_last_seq(app: Onderwijsflow, slug: str) -> int:
    """The number of the region's last event."""
    events = app.history(slug, all_events=True, limit=1)["events"]
    return int(events[-1]["seq"]) if events else 0


class _Api:
    """The JSON API (the shapes of the CLI's ``--json``), calendar feeds and the health check."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def regions(self, request: Request) -> JSONResponse:
        q = request.query_params
        found = self.site.call(lambda app: app.list_regions(state=q.get("state"),
                                                            workflow=q.get("workflow")))
        return JSONResponse({"regions": found})

    def region(self, request: Request) -> JSONResponse:
        return JSONResponse(self.site.call(lambda app: app.show_region(request.path_params["slug"])))

    def history(self, request: Request) -> JSONResponse:
        from onderwijsflow.clock import parse_moment

        q = request.query_params
        as_of = q.get("as_of")
        limit = q.get("limit")
        try:
            moment = parse_moment(as_of) if as_of else None
            count = int(limit) if limit else None
        except ValueError as err:
            raise UsageError(str(err)) from None
        return JSONResponse(self.site.call(lambda app: app.history(
            request.path_params["slug"], workflow=q.get("workflow"), as_of=moment,
            all_events=q.get("all", "") not in ("", "0"), kinds=tuple(q.getlist("kind")),
            limit=count)))

    def check(self, request: Request) -> JSONResponse:
        q = request.query_params
        return JSONResponse(self.site.call(lambda app: app.check(
            request.path_params["slug"], workflow=q.get("workflow"), round=q.get("round"),
            target=q.get("target"))))

    def report(self, request: Request) -> JSONResponse:
        from onderwijsflow.reporting.national import national_report

        within = _duration(request.query_params.get("within"))
        return JSONResponse(self.site.call(lambda app: national_report(app, within=within)))

    def deadlines(self, request: Request) -> JSONResponse:
        from onderwijsflow.scheduler.deadlines import deadlines

        q = request.query_params
        within = _duration(q.get("within"))
        rows = self.site.call(lambda app: deadlines(app, within=within, region=q.get("region")))
        return JSONResponse({"deadlines": rows})

    def region_ics(self, request: Request) -> Response:
        from onderwijsflow.scheduler.deadlines import deadlines
        from onderwijsflow.scheduler.ical import to_ics

        slug = request.path_params["slug"]
        with self.site.library() as app:
            app.show_region(slug)  # NotFound for an unknown region, not an empty calendar
            body = to_ics(deadlines(app, region=slug), stamp=app.now())
        return _calendar(body, f"{slug}.ics")

    def coordinator_ics(self, request: Request) -> Response:
        from onderwijsflow.scheduler.deadlines import deadlines
        from onderwijsflow.scheduler.ical import to_ics

        who = request.path_params["who"].strip().lower()
        with self.site.library() as app:
            mine = {r["slug"] for r in app.list_regions()
                    if (r["coordinator"] or "").lower() == who}
            if not mine:
                raise NotFound(_("no region has coordinator {who}").format(who=who))
            rows = [r for r in deadlines(app) if r["region"] in mine]
            body = to_ics(rows, stamp=app.now())
        return _calendar(body, f"{who}.ics")

    def health(self, request: Request) -> JSONResponse:
        from onderwijsflow.store.migrate import current_revision

        revision = self.site.call(lambda app: current_revision(app.db))
        return JSONResponse({"ok": True, "revision": revision, "language": i18n.current()})


def _duration(text: str | None) -> Any:
    from onderwijsflow.definition.durations import Duration

    if not text:
        return None
    try:
        return Duration.parse(text)
    except ValueError as err:
        raise UsageError(_("within: {error}").format(error=err)) from None


def _calendar(body: bytes, name: str) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def _coverage_html(report: dict[str, Any]) -> Markup | None:
    """The coverage map and its tables (the HTML report's section), once reference data is
    loaded; escaped where it is built (reporting.coverage)."""
    if not report.get("coverage"):
        return None
    from onderwijsflow.reporting.coverage import html_section

    return Markup(html_section(report["coverage"]))
