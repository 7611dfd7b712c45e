"""The ``onderwijsflow`` command line: thin commands over :mod:`onderwijsflow.service`.

Importing this module imports click and nothing heavy, so ``--help`` is fast; each command
imports the library when it runs. Every error becomes one sentence on stderr and the exit
code of design §4 (mapped once, in :func:`main`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from onderwijsflow import __version__, i18n
from onderwijsflow.cli.lazy import LazyGroup
from onderwijsflow.cli.localize import install_click_translations, localize
from onderwijsflow.i18n import N_, _

if TYPE_CHECKING:
    from onderwijsflow.service import Onderwijsflow


class Settings:
    """The global options, and the application built from them on first use."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.debug: bool = options.pop("debug")
        options.pop("lang", None)
        self._app: Onderwijsflow | None = None

    @property
    def app(self) -> Onderwijsflow:
        """The :class:`~onderwijsflow.service.Onderwijsflow` for this invocation."""
        if self._app is None:
            from onderwijsflow.service import Onderwijsflow

            self._app = Onderwijsflow.open(**self.options)
        return self._app

    def close(self) -> None:
        """Release the database."""
        if self._app is not None:
            self._app.close()


pass_settings = click.make_pass_decorator(Settings)


#: Each command and the module that defines it (imported when the command is used).
COMMAND_MODULES = {
    **dict.fromkeys(("init", "workflow", "demo"), "workflows"),
    **dict.fromkeys(("region", "partner", "role", "document", "fact", "record"), "regions"),
    **dict.fromkeys(("start", "advance", "advance-all", "check", "history"), "cases"),
    "audit": "audit",
    **dict.fromkeys(("scheduler", "deadlines"), "scheduling"),
    "report": "report",
    "import": "importing",
    **dict.fromkeys(("user", "policy"), "users"),
    **dict.fromkeys(("reference", "coverage"), "network"),
    **dict.fromkeys(("serve", "dossier"), "serve"),
}
#: Modules that add subcommands to another module's group: `import municipalities` and the
#: other reference imports are defined beside the network's commands.
EXTENSIONS = {"import": ("network",)}


@click.group(cls=LazyGroup,
             lazy={name: [f"onderwijsflow.cli.{m}" for m in (module, *EXTENSIONS.get(name, ()))]
                   for name, module in COMMAND_MODULES.items()},
             on_load=localize,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="onderwijsflow")
@click.option("--db", envvar="ONDERWIJSFLOW_DB", metavar="URL",
              help="Database URL [default: sqlite:///onderwijsflow.db; env ONDERWIJSFLOW_DB].")
@click.option("--config", envvar="ONDERWIJSFLOW_CONFIG", metavar="FILE",
              help="Configuration file read on top of the shipped defaults [env ONDERWIJSFLOW_CONFIG].")
@click.option("--workflows", envvar="ONDERWIJSFLOW_WORKFLOWS", metavar="DIR",
              help="Workflow directory [default: the shipped workflows; env ONDERWIJSFLOW_WORKFLOWS].")
@click.option("--actor", envvar="ONDERWIJSFLOW_ACTOR", metavar="NAME",
              help="Who is acting, in a practice database [default: the login; env ONDERWIJSFLOW_ACTOR].")
@click.option("--now", envvar="ONDERWIJSFLOW_NOW", metavar="ISO-DATETIME",
              help="Simulated current time, in a practice database whose configuration allows it "
                   "[env ONDERWIJSFLOW_NOW].")
@click.option("--backdate", metavar="REASON",
              help="Allow effective times before a region's last event, for this reason "
                   "(practice databases only; the events record it).")
@click.option("--lang", envvar=i18n.ENV, type=click.Choice(i18n.LANGUAGES, case_sensitive=False),
              help=N_("Language of every text a person reads [default: nl; env ONDERWIJSFLOW_LANG]."))
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Steer onderwijsregio's through their lifecycle: regions, cases, requirements, audit.

    Exit codes: 0 done, 1 error, 2 usage error, 3 refused, 4 not found, 5 conflict.
    """
    if options.get("lang"):
        i18n.set_language(options["lang"])
        localize(cli)
    settings = Settings(**options)
    ctx.obj = settings
    ctx.call_on_close(settings.close)


install_click_translations()


def _language(argv: list[str]) -> str | None:
    """The ``--lang`` of `argv`, read before click parses it: help must be translated first."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and map every error to one sentence and its exit code."""
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    try:
        i18n.set_language(_language(args))
    except i18n.LanguageError:
        i18n.set_language(None)  # click names the bad choice, in the default language
    localize(cli)
    try:
        # Without standalone mode click *returns* the code of a `click.exceptions.Exit`
        # (a command's `ctx.exit(n)`) instead of raising it.
        code = cli.main(args=argv, prog_name="onderwijsflow", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo(_("Aborted."), err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except Exception as err:
        sys.exit(_report(err, debug))
    sys.exit(code if isinstance(code, int) else 0)


def _report(err: Exception, debug: bool) -> int:
    from onderwijsflow.errors import DefinitionError, OnderwijsflowError

    if debug:
        import traceback

        traceback.print_exception(err)
    if isinstance(err, OnderwijsflowError):
        click.echo(_("error: {message}").format(message=err.message), err=True)
        # Every problem on a line of its own, so a whole file can be fixed in one go.
        problems = err.problems if isinstance(err, DefinitionError) else err.details.get("problems")
        for problem in (problems or [])[1:]:
            click.echo(_("error: {message}").format(message=problem), err=True)
        return err.exit_code
    if _is_database_error(err):
        click.echo(_("error: database problem: {problem}").format(problem=_first_line(err)), err=True)
        return 1
    click.echo(_("error: unexpected {kind}: {problem} (run with --debug for details)").format(
        kind=type(err).__name__, problem=_first_line(err)), err=True)
    return 1


def _is_database_error(err: Exception) -> bool:
    module = type(err).__module__
    return module.startswith(("sqlalchemy", "sqlite3", "psycopg"))


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
