"""Shell completion of the words a coordinator types: region slugs, triggers, workflows, kinds.

Click asks these functions while the shell completes a command line (see the README for the
one line that switches completion on). They read the same options and environment variables
as the command would, and never fail: a database that cannot be read completes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click
from click.shell_completion import CompletionItem

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _matching(words: Iterable[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(word) for word in sorted(set(words)) if word.startswith(incomplete)]


def _app(ctx: click.Context) -> Any:
    """The application the command would use, from the root's options (or None)."""
    import os

    from onderwijsflow.service import Onderwijsflow

    root = ctx.find_root().params
    return Onderwijsflow.open(
        db=root.get("db") or os.environ.get("ONDERWIJSFLOW_DB"),
        config=root.get("config") or os.environ.get("ONDERWIJSFLOW_CONFIG"),
        workflows=root.get("workflows") or os.environ.get("ONDERWIJSFLOW_WORKFLOWS"),
    )


def _safely(words: Callable[[Any], Iterable[str]]) -> Completer:
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        app = None
        try:
            app = _app(ctx)
            return _matching(words(app), incomplete)
        except Exception:  # completion must never break the shell: offer nothing instead
            return []
        finally:
            if app is not None:
                app.close()

    return complete


#: Region slugs from the database.
slugs = _safely(lambda app: (r["slug"] for r in app.list_regions()))
#: Workflow names from the workflow directory.
workflows = _safely(lambda app: app.catalog.names)
#: Every trigger of every workflow.
triggers = _safely(lambda app: (t for f in app.catalog.files.values() for t in f.definition.triggers))
#: Record kinds the workflows declare.
record_kinds = _safely(lambda app: app.record_kinds())


def _vocabulary(name: str) -> Completer:
    def complete(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        from onderwijsflow import vocabulary

        return _matching(getattr(vocabulary, name), incomplete)

    return complete


document_kinds = _vocabulary("DOCUMENT_KINDS")
region_roles = _vocabulary("REGION_ROLES")
partner_kinds = _vocabulary("PARTNER_KINDS")
