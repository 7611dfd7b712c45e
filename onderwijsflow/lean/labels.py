"""The labels of states and facts as the workflow files give them, read without pydantic.

The full path validates every workflow file (`definition.loader`) before it shows a label,
and refuses the command when one is invalid. The lean path reads the files' YAML with
:func:`onderwijsflow.yamlsafe.parse` (the reader the loader uses) only when every file is a
text the database already stores under its workflow's name and version, with the same
SHA-256: a text the full path loaded, validated and stored. Anything else (a new or changed
file, two files of one workflow, a directory that is not there) makes :meth:`Labels.verify`
answer False, and the command takes the full path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from onderwijsflow.lean.sqlite import Connection

__all__ = ["FactInfo", "FactLike", "LabelSource", "Labels", "fast_loader", "load_yaml", "read_yaml"]

#: As `yamlsafe.MAX_BYTES` (a test keeps them equal): a larger file the full path refuses.
_MAX_BYTES = 4_000_000


class FactLike(Protocol):
    """What a table needs of a declared fact: its type and label."""

    @property
    def type(self) -> str: ...

    @property
    def label(self) -> str | None: ...


class LabelSource(Protocol):
    """Where `region show` and `region list` get labels: the application, or :class:`Labels`."""

    def state_label(self, workflow: str, state: str, version: int | None = None) -> str: ...

    def declared_facts(self) -> Mapping[str, FactLike]: ...


@dataclass(frozen=True)
class FactInfo:
    """A fact's declared type (aliases resolved) and label, as :class:`FactDef` has them."""

    type: str
    label: str | None


class _Workflow:
    """The parts of one workflow definition that labels come from (its validated YAML)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.states: Mapping[str, Any] = data.get("states") or {}
        self.facts: Mapping[str, Any] = data.get("facts") or {}
        #: The raw `title` and `milestones` (`deadlines` shows them; validated, so a text
        #: and a list of mappings, which `lean.deadlines` checks again before trusting).
        self.title: Any = data.get("title")
        self.milestones: Any = data.get("milestones") or ()

    def state_label(self, state: str) -> str:
        found = self.states.get(state)
        return str(found["label"]) if isinstance(found, Mapping) else state

    def milestone(self, name: str) -> Mapping[str, Any] | None:
        """The first milestone called `name` (as `deadlines` picks its spec), or None."""
        return next((m for m in self.milestones
                     if isinstance(m, Mapping) and m.get("name") == name), None)


@cache
def fast_loader() -> type[Any]:
    """libyaml's safe loader reading YAML 1.2 as `yamlsafe.LineLoader` does (only true/false
    are booleans, ``16:00`` is text), without its line bookkeeping: a stored text was read
    by that loader once and found valid, so the values come out the same (a test keeps the
    two loaders' resolvers in step)."""
    import re

    import yaml

    class _Fast(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    retyped = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int"}
    _Fast.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in retyped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _Fast.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"))
    _Fast.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
        list("-+0123456789"))
    return _Fast


def load_yaml(text: str) -> Any:
    """`text` (a workflow or configuration the full path has read before) as data."""
    import yaml

    return yaml.load(text, Loader=fast_loader())  # a safe loader


def read_yaml(text: str) -> Any:
    """`text` as data, as :func:`load_yaml` reads it, kept parsed between runs
    (:mod:`onderwijsflow.textcache`): a later start reads JSON instead of YAML."""
    from onderwijsflow.textcache import cached_parse

    return cached_parse(text, load_yaml)


def _parse(text: str) -> _Workflow:
    data = read_yaml(text)
    if not isinstance(data, Mapping):
        raise ValueError("not a workflow")
    return _Workflow(data)


def _fact(spec: Any) -> FactInfo:
    from onderwijsflow.values import TYPE_ALIASES

    spec = spec if isinstance(spec, Mapping) else {}
    kind = spec.get("type", "string")
    label = spec.get("label")
    return FactInfo(str(TYPE_ALIASES.get(kind, kind)), None if label is None else str(label))


class Labels:
    """State and fact labels from the workflow files in `directory`, checked against the
    workflow versions stored in the database `connection` reads."""

    def __init__(self, connection: Connection, directory: Path) -> None:
        self.connection = connection
        self.directory = directory
        #: Workflow name -> (version, text) of the file on disk, in file-name order.
        self._files: dict[str, tuple[int, str]] = {}
        self._parsed: dict[tuple[str, int], _Workflow | None] = {}
        self._verified: bool | None = None

    def verify(self) -> bool:
        """Whether every workflow file is a stored, hence validated, text (read once)."""
        if self._verified is None:
            self._verified = self._check()
        return self._verified

    def _check(self) -> bool:
        import hashlib

        if not self.directory.is_dir():
            return False
        stored = {str(sha): (str(name), int(version)) for name, version, sha in
                  self.connection.execute("SELECT name, version, sha256 FROM workflow_versions")}
        files = sorted(p for p in self.directory.iterdir()
                       if p.suffix in {".yaml", ".yml"} and p.is_file())
        for file in files:
            data = file.read_bytes()
            if len(data) > _MAX_BYTES:
                return False
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return False
            found = stored.get(hashlib.sha256(data).hexdigest())
            if found is None or found[0] in self._files:
                return False
            self._files[found[0]] = (found[1], text)
        return True

    def preload(self, wanted: Iterable[tuple[str, int | None]] = ()) -> bool:
        """Read every file's definition, and those of the (workflow, version) pairs in
        `wanted`, before anything is shown: False when one cannot be read (or the files are
        not verified), so that the command takes the full path before printing a line."""
        try:
            if not self.verify():
                return False
            for name in self._files:
                self._definition(name)
            for workflow, version in wanted:
                self._definition(workflow, version)
        except Exception:  # the full path says what is wrong
            return False
        return True

    def _definition(self, workflow: str, version: int | None = None) -> _Workflow | None:
        """As `RegionOps.workflow_definition`: the file's version when it is the one asked
        (or none is), else the stored text of `version`, else the file's."""
        assert self._verified, "verify() first"
        if version is not None and (workflow, version) in self._parsed:
            return self._parsed[workflow, version]  # read before the connection closed
        on_disk = self._files.get(workflow)
        if on_disk is not None and (version is None or on_disk[0] == version):
            return self._load(workflow, on_disk[0], on_disk[1])
        if version is not None:
            row = self.connection.execute(
                "SELECT text FROM workflow_versions WHERE name = ? AND version = ?",
                (workflow, version)).fetchone()
            if row is not None:
                return self._load(workflow, version, str(row[0]))
        return self._load(workflow, on_disk[0], on_disk[1]) if on_disk is not None else None

    def _load(self, workflow: str, version: int, text: str) -> _Workflow | None:
        key = (workflow, version)
        if key not in self._parsed:
            self._parsed[key] = _parse(text)
        return self._parsed[key]

    def workflow(self, workflow: str, version: int) -> _Workflow | None:
        """As `Catalog.machine(...).definition`: the file's definition when it is `version`,
        else the stored text of `version`; None when neither is there (the full path then
        refuses), unlike the labels' fallback to the file. Verify first."""
        assert self._verified, "verify() first"
        on_disk = self._files.get(workflow)
        if on_disk is not None and on_disk[0] == version:
            return self._load(workflow, version, on_disk[1])
        if (workflow, version) in self._parsed:
            return self._parsed[workflow, version]
        row = self.connection.execute(
            "SELECT text FROM workflow_versions WHERE name = ? AND version = ?",
            (workflow, version)).fetchone()
        return self._load(workflow, version, str(row[0])) if row is not None else None

    def state_label(self, workflow: str, state: str, version: int | None = None) -> str:
        """The label of `state` in `workflow` (at `version`), or the state's name."""
        definition = self._definition(workflow, version)
        return definition.state_label(state) if definition is not None else state

    def declared_facts(self) -> dict[str, FactInfo]:
        """Every fact the workflow files declare, by name (the first declaration wins)."""
        declared: dict[str, FactInfo] = {}
        for name in self._files:
            definition = self._definition(name)
            assert definition is not None
            for fact, spec in definition.facts.items():
                declared.setdefault(str(fact), _fact(spec))
        return declared

    def fact_type(self, name: str) -> str | None:
        """The declared type of fact `name`, None when no workflow file declares it."""
        found = self.declared_facts().get(name)
        return found.type if found is not None else None
