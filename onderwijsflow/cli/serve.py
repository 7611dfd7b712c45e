"""The web view (``serve``) and a region's dossier to file (``dossier``).

Starlette, uvicorn and Jinja2 load only when these commands run, so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from onderwijsflow.cli import Settings, completion, pass_settings
from onderwijsflow.cli.output import emit_json, json_option
from onderwijsflow.i18n import _

#: What ``dossier --out`` writes, by the file's extension.
DOSSIER_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --trusted-proxy.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--trusted-proxy", "proxies", multiple=True, metavar="ADDR",
              help="A reverse proxy (address or network) whose user header is believed (repeatable).")
@click.option("--user-header", default="X-Remote-User", show_default=True, metavar="NAME",
              help="The header in which a trusted proxy names the user.")
@click.option("--access-log", metavar="FILE",
              help="Also append every dossier view (one JSON line) to FILE.")
@pass_settings
def serve(settings: Settings, host: str, port: int, proxies: tuple[str, ...], user_header: str,
          access_log: str | None) -> None:
    """Serve the read-only web view: the national board, the regions, each region's dossier,
    calendar feeds and a JSON API.

    Without --trusted-proxy it listens on loopback only and the person looking is the
    operating-system user who started it. Behind a reverse proxy, the user comes from
    --user-header only on requests from a --trusted-proxy address; other requests are
    anonymous. Every dossier view is logged as one JSON line (logger onderwijsflow.web.access,
    on stderr).
    """
    from onderwijsflow.web.access import parse_proxies, refuse_open_bind

    networks = parse_proxies(proxies)
    refuse_open_bind(host, networks)
    try:
        from onderwijsflow.web.server import build, configure_access_log
        from onderwijsflow.web.server import serve as run
    except ImportError as err:
        raise click.UsageError(_("the web view needs its extra: pip install 'onderwijsflow[web]' "
                                 "({module} is missing)").format(module=err.name)) from None
    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.store.db import read_only_url

    settings.app.ensure_ready()
    # Read-only in the database itself, not only by having no write routes: the server's
    # connections cannot write whatever its login may.
    reader = Onderwijsflow.open(**{**settings.options, "db": read_only_url(settings.app.db_url)})
    configure_access_log(access_log)
    click.echo(_("onderwijsflow web view on http://{host}:{port}/ (Ctrl+C stops it)").format(
        host=f"[{host}]" if ":" in host else host, port=port), err=True)
    try:
        run(build(reader, proxies=networks, user_header=user_header), host=host, port=port)
    finally:
        reader.close()


@click.command()
@click.argument("slug", shell_complete=completion.slugs)
@click.option("--out", "output", required=True, metavar="FILE.html|FILE.pdf",
              help="The file to write; .pdf is printed with headless Chromium.")
@json_option
@pass_settings
def dossier(settings: Settings, slug: str, output: str, as_json: bool) -> None:
    """Write region SLUG's dossier to one self-contained file: its cases, history with the
    evidence of every step, deadlines, partners, people, documents, records, and the audit
    verification of its hash chain with the chain head."""
    from onderwijsflow.errors import UsageError

    fmt = DOSSIER_FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        raise UsageError(_("--out must end in .html or .pdf, got {path}").format(path=output))
    try:
        from onderwijsflow.web.dossier import chromium, gather, to_html, to_pdf
    except ImportError as err:
        raise click.UsageError(_("the dossier needs the web extra: pip install 'onderwijsflow[web]' "
                                 "({module} is missing)").format(module=err.name)) from None
    if fmt == "pdf" and chromium() is None:
        to_pdf("")  # the one sentence saying Chromium is missing (exit 2)
    found = gather(settings.app, slug, audit=True)
    html = to_html(found)
    content = to_pdf(html) if fmt == "pdf" else html.encode("utf-8")
    target = Path(output)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_bytes(content)
        tmp.replace(target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UsageError(_("cannot write {path}: {reason}").format(
            path=output, reason=err.strerror or err)) from None
    audit = found.audit or {}
    if as_json:
        emit_json({"region": slug, "path": str(target), "format": fmt, "bytes": len(content),
                   "events": len(found.events), "audit_ok": bool(audit.get("ok")),
                   "head": ({"seq": found.head["seq"], "hash": found.head["hash"]}
                            if found.head else None)})
    else:
        click.echo(_("wrote the dossier of {slug} to {path}").format(slug=slug, path=output), err=True)


COMMANDS = [serve, dossier]
