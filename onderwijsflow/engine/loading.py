"""Load workflows with their requirements compiled by the engine's checks.

The language package (:mod:`onderwijsflow.definition`) reads and validates workflow files
without knowing the checks; this module hands it the check registry, so what the service
runs and `workflow validate` reports are compiled by the same checks.
"""

from __future__ import annotations

from pathlib import Path

from onderwijsflow.definition import loader
from onderwijsflow.definition.loader import LoadedWorkflow
from onderwijsflow.engine.checks import CheckRegistry

__all__ = ["LoadedWorkflow", "load_directory", "load_workflow_file", "load_workflow_text"]


def load_workflow_text(
    text: str, source: str = "<text>", registry: CheckRegistry | None = None
) -> LoadedWorkflow:
    """Parse, validate and compile one workflow (default checks: built-ins and plug-ins).

    Raises:
        DefinitionError: listing every problem found, each as ``FILE:LINE: message``.
    """
    return loader.load_workflow_text(text, source, registry or CheckRegistry())


def load_workflow_file(path: str | Path, registry: CheckRegistry | None = None) -> LoadedWorkflow:
    """Load and compile one workflow file (UTF-8 YAML).

    Raises:
        DefinitionError: the file cannot be read or is not a valid workflow.
    """
    return loader.load_workflow_file(path, registry or CheckRegistry())


def load_directory(
    path: str | Path, registry: CheckRegistry | None = None
) -> dict[str, LoadedWorkflow]:
    """Load and compile every workflow file of a directory (see :func:`loader.load_directory`).

    Raises:
        DefinitionError: listing the problems of all files together.
    """
    return loader.load_directory(path, registry or CheckRegistry())
