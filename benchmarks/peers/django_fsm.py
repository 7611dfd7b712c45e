"""Peer (a): django-fsm-2. A Django model with an ``FSMField`` and a ``@transition`` with the 9
``conditions``; SQLite in WAL mode with ``synchronous=FULL``, ``BEGIN IMMEDIATE`` write
transactions; one hash-chained history row per transition, written in the same transaction.

Django is configured once per process (``settings.configure``), so every `make` in one run
shares one database file (the first `work` directory given); seed sets are told apart by
their slug prefix and state, as onderwijsflow's are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.peers import (
    BATCH,
    CONDITIONS,
    DEST,
    REGION_DOCUMENTS,
    REGION_FACTS,
    REGION_PARTNERS,
    REGION_ROLES,
    SOURCES,
    TRIGGER,
    WORKFLOW,
    Snapshot,
    chain,
    now,
    transition_event,
)

_MODELS: dict[str, Any] = {}


def _pragmas(sender: Any, connection: Any, **_: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")


def _setup(path: Path) -> dict[str, Any]:
    """Configure Django on `path`, define the models and create their tables (once)."""
    if _MODELS:
        return _MODELS
    import django
    from django.conf import settings

    options: dict[str, Any] = {}
    if django.VERSION >= (5, 1):
        options["transaction_mode"] = "IMMEDIATE"  # as onderwijsflow's write transactions
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
                               "OPTIONS": options}},
        INSTALLED_APPS=[], USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField")
    django.setup()
    from django.db import connection, models
    from django.db.backends.signals import connection_created
    from django_fsm import ConcurrentTransitionMixin, FSMField, transition

    connection_created.connect(_pragmas)

    class Meta:
        app_label = "onderwijsflow_peer"

    def attrs(**fields: Any) -> dict[str, Any]:
        return {"__module__": __name__, "Meta": type("Meta", (), {"app_label": Meta.app_label}),
                **fields}

    Region = type("Region", (models.Model,), attrs(
        slug=models.CharField(max_length=100, unique=True),
        name=models.CharField(max_length=200),
        event_seq=models.IntegerField(default=0),
        event_hash=models.CharField(max_length=64, default="")))
    Partner = type("Partner", (models.Model,), attrs(
        region=models.ForeignKey(Region, models.CASCADE, related_name="partners"),
        name=models.CharField(max_length=200), kind=models.CharField(max_length=50),
        sector=models.CharField(max_length=10, null=True)))
    Role = type("Role", (models.Model,), attrs(
        region=models.ForeignKey(Region, models.CASCADE, related_name="roles"),
        role=models.CharField(max_length=50), person=models.CharField(max_length=200),
        email=models.CharField(max_length=200, null=True)))
    Document = type("Document", (models.Model,), attrs(
        region=models.ForeignKey(Region, models.CASCADE, related_name="documents"),
        kind=models.CharField(max_length=50), title=models.CharField(max_length=200),
        ref=models.CharField(max_length=50), date=models.DateField()))
    Fact = type("Fact", (models.Model,), attrs(
        region=models.ForeignKey(Region, models.CASCADE, related_name="facts"),
        name=models.CharField(max_length=50), value=models.BigIntegerField()))

    def verleen_definitieve_status(self: Any) -> None:
        self.state_entered_at = now()

    def condition(check: Callable[[Snapshot], bool]) -> Callable[[Any], bool]:
        return lambda case: check(case.snapshot)

    conditions = [condition(check) for _, check in CONDITIONS]
    Case = type("Case", (ConcurrentTransitionMixin, models.Model), attrs(
        region=models.ForeignKey(Region, models.CASCADE, related_name="cases"),
        workflow=models.CharField(max_length=50),
        state=FSMField(default=SOURCES[0]),
        state_entered_at=models.DateTimeField(),
        **{TRIGGER: transition(field="state", source=list(SOURCES), target=DEST,
                               conditions=conditions)(verleen_definitieve_status)}))
    History = type("History", (models.Model,), attrs(
        region=models.ForeignKey(Region, models.CASCADE, related_name="history"),
        case=models.ForeignKey(Case, models.CASCADE, null=True),
        seq=models.IntegerField(), kind=models.CharField(max_length=20),
        trigger=models.CharField(max_length=50, null=True),
        from_state=models.CharField(max_length=50, null=True),
        to_state=models.CharField(max_length=50, null=True),
        actor=models.CharField(max_length=100), at=models.DateTimeField(),
        data=models.JSONField(), prev_hash=models.CharField(max_length=64),
        hash=models.CharField(max_length=64)))
    History._meta.unique_together = (("region", "seq"),)  # type: ignore[attr-defined]
    with connection.schema_editor() as editor:
        for model in (Region, Partner, Role, Document, Fact, Case, History):
            editor.create_model(model)
    _MODELS.update(Region=Region, Partner=Partner, Role=Role, Document=Document, Fact=Fact,
                   Case=Case, History=History)
    return _MODELS


class DjangoFsmPeer:
    name = "django-fsm-2 (Django ORM, SQLite WAL, synchronous=FULL)"

    def __init__(self, path: Path) -> None:
        self.m = _setup(path)

    def seed(self, prefix: str, count: int, state: str) -> list[str]:
        from django.db import transaction

        m = self.m
        slugs = [f"{prefix}{i:05d}" for i in range(count)]
        at = now()
        with transaction.atomic():
            regions = m["Region"].objects.bulk_create(
                [m["Region"](slug=s, name=f"Regio {s}", event_seq=1, event_hash=chain("", {"slug": s}))
                 for s in slugs])
            m["Partner"].objects.bulk_create([m["Partner"](region=r, name=n, kind=k, sector=sec)
                                              for r in regions for n, k, sec in REGION_PARTNERS])
            m["Role"].objects.bulk_create([m["Role"](region=r, role=role, person=p, email=e)
                                           for r in regions for role, p, e in REGION_ROLES])
            m["Document"].objects.bulk_create([
                m["Document"](region=r, kind=k, title=f"{k} 2024", ref=f"DOC-{i}", date=date(2024, 5, 1))
                for r in regions for i, k in enumerate(REGION_DOCUMENTS)])
            m["Fact"].objects.bulk_create([m["Fact"](region=r, name=n, value=v)
                                           for r in regions for n, v in REGION_FACTS.items()])
            m["Case"].objects.bulk_create([m["Case"](region=r, workflow=WORKFLOW, state=state,
                                                     state_entered_at=at) for r in regions])
        return slugs

    def _fire(self, case: Any, region: Any, snapshot: Snapshot) -> Any:
        """Fire on one case (its own bound transition): the history row, not yet saved."""
        from django_fsm import can_proceed

        case.snapshot = snapshot
        source = case.state
        if not can_proceed(getattr(case, TRIGGER)):
            raise RuntimeError(f"django-fsm-2 peer refused {region.slug}: the set-up is wrong")
        getattr(case, TRIGGER)()
        case.save(update_fields=["state", "state_entered_at"])
        at = now()
        seq = region.event_seq + 1
        event = transition_event(region.slug, case.pk, seq, source, at)
        digest = chain(region.event_hash, event)
        history = self.m["History"](region=region, case=case, seq=seq, kind="transition", trigger=TRIGGER,
                                    from_state=source, to_state=DEST, actor="bench", at=at, data=event,
                                    prev_hash=region.event_hash, hash=digest)
        region.event_seq, region.event_hash = seq, digest
        return history

    def advance(self, slug: str) -> None:
        from django.db import transaction

        m = self.m
        with transaction.atomic():
            case = m["Case"].objects.select_related("region").get(region__slug=slug, workflow=WORKFLOW)
            region = case.region
            snapshot = Snapshot([p.kind for p in region.partners.all()],
                                [r.role for r in region.roles.all()],
                                [d.kind for d in region.documents.all()],
                                {f.name: f.value for f in region.facts.all()})
            self._fire(case, region, snapshot).save()
            region.save(update_fields=["event_seq", "event_hash"])

    def advance_all(self, state: str, batch: int = BATCH) -> int:
        from django.db import transaction

        m = self.m
        moved = 0
        while True:
            with transaction.atomic():
                cases = list(m["Case"].objects.filter(workflow=WORKFLOW, state=state).order_by("id")
                             .select_related("region")
                             .prefetch_related("region__partners", "region__roles", "region__documents",
                                               "region__facts")[:batch])
                if not cases:
                    return moved
                histories, regions = [], []
                for case in cases:
                    region = case.region
                    snapshot = Snapshot([p.kind for p in region.partners.all()],
                                        [r.role for r in region.roles.all()],
                                        [d.kind for d in region.documents.all()],
                                        {f.name: f.value for f in region.facts.all()})
                    histories.append(self._fire(case, region, snapshot))
                    regions.append(region)
                m["History"].objects.bulk_create(histories)
                m["Region"].objects.bulk_update(regions, ["event_seq", "event_hash"])
                moved += len(cases)

    def moved(self) -> int:
        return int(self.m["Case"].objects.filter(state=DEST).count())

    def verify(self, slug: str) -> bool:
        region = self.m["Region"].objects.get(slug=slug)
        prev = None
        for h in region.history.order_by("seq"):
            if (prev is not None and h.prev_hash != prev) or chain(h.prev_hash, h.data) != h.hash:
                return False
            prev = h.hash
        return bool(prev == region.event_hash)

    def close(self) -> None:
        from django.db import connection

        connection.close()


def make(work: Path) -> DjangoFsmPeer:
    return DjangoFsmPeer(work / "peer-django.db")
