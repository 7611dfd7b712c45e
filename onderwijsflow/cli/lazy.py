"""A click group that imports a command's module only when that command runs.

Every command module imports what its commands print with (rich, the renderers, the lean
reader); importing all ten of them cost `region show` about 25 ms of its start. The group
knows which module holds which command (a test keeps that table equal to the modules'
``COMMANDS``), imports the one asked for, and translates its help texts on arrival.
Everything that walks the whole tree (``--help``, the catalog extractor, completion) reads
:attr:`LazyGroup.commands`, which loads the rest first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """A group whose commands live in modules imported on first use.

    Args:
        lazy: command name -> the module that lists it in its ``COMMANDS``, then any modules
            that add subcommands to it (imported after it).
        on_load: called with each command as its module is imported (to translate it).
    """

    def __init__(self, *args: object, lazy: Mapping[str, Sequence[str]],
                 on_load: Callable[[click.Command], None] | None = None, **kwargs: object) -> None:
        self._lazy = dict(lazy)
        self._loaded: dict[str, click.Command] = {}
        self._on_load = on_load
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def commands(self) -> dict[str, click.Command]:
        """Every command, each module imported (for whatever walks the whole tree)."""
        for name in list(self._lazy):
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: Mapping[str, click.Command]) -> None:
        self._loaded = dict(value)

    @property
    def loaded(self) -> dict[str, click.Command]:
        """The commands imported so far (for translating without importing the rest)."""
        return self._loaded

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name is None:
            raise TypeError("Command has no name.")
        self._lazy.pop(name, None)
        self._loaded[name] = cmd

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self._loaded) | set(self._lazy))

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        return self._loaded.get(cmd_name) or self._load(cmd_name)

    def _load(self, name: str) -> click.Command | None:
        module_names = self._lazy.get(name)
        if module_names is None:
            return self._loaded.get(name)
        module = importlib.import_module(module_names[0])
        # The others only add subcommands to this module's groups (translated below with
        # them); their own commands arrive when those are asked for.
        for extension in module_names[1:]:
            importlib.import_module(extension)
        for command in module.COMMANDS:
            if command.name in self._lazy:
                del self._lazy[command.name]
                self._loaded[command.name] = command
                if self._on_load is not None:
                    self._on_load(command)
        return self._loaded.get(name)
