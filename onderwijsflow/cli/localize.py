"""The command line in the reader's language: help texts and click's own messages.

Click builds its help from strings fixed when the commands are defined, and translates its
own messages ("Usage:", "Missing argument") through the standard ``gettext`` module's global
domain. So help texts are translated in place, once the language is known (from the originals
kept aside, so a second invocation in another language starts from English again), and click's
modules are pointed at our catalog, which carries the messages of click's listed below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from onderwijsflow import i18n
from onderwijsflow.cli.lazy import LazyGroup

_SOURCE = "_onderwijsflow_source"
HELP_OPTION = "Show this message and exit."  # click's text, in its catalog below
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types")


def localize(root: click.Command) -> None:
    """Translate every help text under `root` into the current language."""
    for obj, attrs in _texts(root):
        source: dict[str, str | None] = obj.__dict__.setdefault(_SOURCE, {})
        for attr in attrs:
            text = source.setdefault(attr, getattr(obj, attr))
            setattr(obj, attr, i18n.gettext(text) if text else text)


def original(obj: Any, attr: str) -> str | None:
    """The English text of `obj`'s `attr` as written in the source, whatever language it
    was translated into since (commands are translated as they are imported)."""
    kept: dict[str, str | None] = obj.__dict__.get(_SOURCE, {})
    return kept[attr] if attr in kept else getattr(obj, attr, None)


def _texts(command: click.Command) -> Iterator[tuple[Any, tuple[str, ...]]]:
    yield command, ("help", "short_help", "epilog", "options_metavar")
    # Click builds the --help option on first use and keeps it (with its text of that moment).
    helper = command.__dict__.get("_help_option")
    if isinstance(helper, click.Option):
        helper.__dict__.setdefault(_SOURCE, {"help": HELP_OPTION})
        yield helper, ("help",)
    for param in command.params:
        if isinstance(param, click.Option):
            yield param, ("help",)
    if isinstance(command, click.Group):
        yield command, ("subcommand_metavar",)
        # A lazy group's commands not imported yet are translated when they are.
        subs = command.loaded if isinstance(command, LazyGroup) else command.commands
        for sub in subs.values():
            yield from _texts(sub)


def install_click_translations() -> None:
    """Make click's own messages speak the current language (they use module-level ``_``)."""
    import importlib

    for name in _CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = i18n.gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = i18n.ngettext  # type: ignore[attr-defined]


def _click_messages() -> None:  # pragma: no cover - never called: read by the extractor
    """The messages of click's that a user of onderwijsflow meets, for the catalog."""
    _, ngettext = i18n.gettext, i18n.ngettext
    _("Usage:")
    _("[OPTIONS]")
    _("COMMAND [ARGS]...")
    _("Show this message and exit.")
    _("Options")
    _("Commands")
    _("Error: {message}")
    _("Try '{command} {option}' for help.")
    _("Missing argument")
    _("Missing option")
    _("Missing parameter")
    _("Missing command.")
    _("Missing {param_type}")
    _("Missing parameter: {param_name}")
    _("No such option {name!r}.")
    _("No such command {name!r}.")
    _("Invalid value: {message}")
    _("Invalid value for {param_hint}: {message}")
    _("Aborted!")
    _("env var: {var}")
    _("default: {default}")
    _("required")
    _("Do you want to continue?")
    _("Option {name!r} does not take a value.")
    _("{value!r} is not a valid {number_type}.")
    _("{value} is not in the range {range}.")
    _("file")
    _("directory")
    _("path")
    _("{name} {filename!r} does not exist.")
    _("{name} {filename!r} is a directory.")
    _("{name} {filename!r} is not readable.")
    _("Could not open file {filename!r}: {message}")
    _("Error: invalid input")
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1)
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 1)
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1)
    ngettext("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", 1)
    ngettext("{value!r} does not match the format {format}.",
             "{value!r} does not match the formats {formats}.", 1)
