"""The workflows a process knows: the files on disk plus every version stored in the database.

A case stays on the version it was opened with (design §3): when the file has moved on, the
old version's machine is rebuilt from the text the store kept. A file whose content changed
without a higher `version:` is refused, because cases opened under the old text would
silently change their rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from onderwijsflow.engine.checks import CheckRegistry
from onderwijsflow.engine.loading import LoadedWorkflow, load_directory, load_workflow_text
from onderwijsflow.engine.machine import WorkflowMachine
from onderwijsflow.errors import DefinitionError, NotFound
from onderwijsflow.i18n import _
from onderwijsflow.store.db import dialect_of, insert_ignoring_duplicates
from onderwijsflow.store.tables import WorkflowVersion
from onderwijsflow.vocabulary import suggest

if TYPE_CHECKING:
    from datetime import datetime



class Catalog:
    """Workflow machines by name and version, built once per process."""

    def __init__(self, directory: Path, registry: CheckRegistry | None = None) -> None:
        self.directory = directory
        self.registry = registry or CheckRegistry()
        self.files: dict[str, LoadedWorkflow] = load_directory(directory, self.registry)
        self._machines: dict[tuple[str, int], WorkflowMachine] = {}

    @property
    def names(self) -> list[str]:
        """The workflow slugs on disk, sorted."""
        return sorted(self.files)

    def current(self, name: str) -> WorkflowMachine:
        """The machine of the version on disk.

        Raises:
            NotFound: when no workflow file declares `name`.
        """
        loaded = self.files.get(name)
        if loaded is None:
            raise NotFound(_("no workflow '{name}'{suggestion}").format(
                name=name, suggestion=suggest(name, self.files)))
        return self._build(loaded)

    def machine(self, session: Session, name: str, version: int) -> WorkflowMachine:
        """The machine for `name` at `version`, from the file or from the stored text."""
        key = (name, version)
        if key in self._machines:
            return self._machines[key]
        loaded = self.files.get(name)
        if loaded is None or loaded.version != version:
            row = session.exec(
                select(WorkflowVersion).where(
                    WorkflowVersion.name == name, WorkflowVersion.version == version
                )
            ).first()
            if row is None:
                raise NotFound(_("workflow '{name}' version {version} is not stored").format(
                    name=name, version=version))
            loaded = load_workflow_text(row.text, f"{name} v{version} (stored)", self.registry)
        return self._build(loaded)

    def _build(self, loaded: LoadedWorkflow) -> WorkflowMachine:
        key = (loaded.name, loaded.version)
        if key not in self._machines:
            self._machines[key] = WorkflowMachine(loaded)
        return self._machines[key]

    def sync(self, session: Session, now: datetime) -> list[str]:
        """Check the files against the stored versions and store new versions.

        Returns:
            The ``name vN`` of every version stored now for the first time.

        Raises:
            DefinitionError: a file changed without a higher version.
        """
        stored = {
            (r.name, r.version): r for r in session.exec(select(WorkflowVersion)).all()
        }
        added = []
        for loaded in self.files.values():
            self.check_unchanged(loaded, stored.get((loaded.name, loaded.version)))
            if (loaded.name, loaded.version) not in stored:
                if _store_version(session, loaded, now):
                    added.append(f"{loaded.name} v{loaded.version}")
                else:  # another process stored it meanwhile: it must be the same text
                    row = session.exec(select(WorkflowVersion).where(
                        WorkflowVersion.name == loaded.name,
                        WorkflowVersion.version == loaded.version)).one()
                    self.check_unchanged(loaded, row)
        session.flush()
        return added

    @staticmethod
    def check_unchanged(loaded: LoadedWorkflow, row: WorkflowVersion | None) -> None:
        """Refuse a file whose text differs from the stored text of the same version."""
        if row is not None and row.sha256 != loaded.sha256:
            raise DefinitionError(
                _("{file}: workflow '{name}' version {version} differs from the version {version} "
                  "already in use; give the changed file a higher version (version: {next})").format(
                    file=Path(loaded.source).name, name=loaded.name, version=loaded.version,
                    next=loaded.version + 1)
            )


def _store_version(session: Session, loaded: LoadedWorkflow, now: datetime) -> bool:
    """Insert a workflow version unless it is there; True when this call stored it.

    Two processes starting after an upgrade both find the new version missing.
    """
    table = WorkflowVersion.__table__  # type: ignore[attr-defined]
    statement = insert_ignoring_duplicates(
        dialect_of(session), table, ["name", "version"], name=loaded.name, version=loaded.version,
        sha256=loaded.sha256, text=loaded.text, loaded_at=now)
    result = session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
