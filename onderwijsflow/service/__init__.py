"""The library API: one method per use case, each one transaction.

Example::

    from onderwijsflow.service import Onderwijsflow

    app = Onderwijsflow.open(db="sqlite:///regio.db")
    app.init()
    app.create_region("twente", name="Twente–Achterhoek–Oost-Salland")
    app.advance("twente", "dien_aanvraag_in")   # raises Refused, saying what is missing
"""

from __future__ import annotations

from typing import Any

from onderwijsflow.service.auditing import AuditOps
from onderwijsflow.service.bulk import BulkOps
from onderwijsflow.service.facts import FactOps
from onderwijsflow.service.history import HistoryOps
from onderwijsflow.service.importing import ImportOps
from onderwijsflow.service.migration import MigrationOps
from onderwijsflow.service.network import NetworkOps
from onderwijsflow.service.records import RecordOps
from onderwijsflow.service.regions import RegionOps
from onderwijsflow.service.users import UserOps


class Onderwijsflow(AuditOps, RegionOps, FactOps, RecordOps, MigrationOps, BulkOps, ImportOps, HistoryOps,
                    UserOps, NetworkOps):
    """The application: every use case a coordinator has, usable from Python."""

    def init(self) -> dict[str, Any]:
        """Create or upgrade the schema, then store the workflow versions in use."""
        from onderwijsflow.store.migrate import upgrade

        before, after = upgrade(self.db)
        self._checked_schema = True
        self._init_policy(before)
        self._enforce_policy()
        if before is not None and self._effective().users:
            self._require_admin()
        with self.db.session() as session:
            added = self.catalog.sync(session, self.now())
        self._synced = True
        return {"database": self.db.display_url,
                "from_revision": before, "revision": after, "workflows_stored": added,
                "practice": self._effective().practice}


__all__ = ["Onderwijsflow"]
