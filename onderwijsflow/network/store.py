"""The network's reference tables as the service's queries use them.

A region's snapshot reads its network through :mod:`onderwijsflow.snapshot.network` (plain
SQL, shared with the lean `check`); what remains here serves the service's own SQLAlchemy
queries (imports, coverage).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from onderwijsflow.store.tables import metadata

__all__ = ["latest_year", "table"]


def table(model: Any) -> Any:
    """The Core columns of a model's table."""
    return metadata.tables[model.__tablename__].c


def latest_year(session: Session, model: Any) -> int | None:
    """The latest year of `model`'s reference rows (None: none loaded)."""
    found = session.connection().execute(select(func.max(table(model).year))).scalar()
    return int(found) if found is not None else None
