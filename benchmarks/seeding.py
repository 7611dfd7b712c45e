"""Seeding: a realistic region, clones of it, scheduler and national data sets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

#: The trigger the engine, advance and advance-all rows fire: 9 requirements, the heaviest
#: of regiovorming (the peers in benchmarks/peers mirror them).
TRIGGER = "verleen_definitieve_status"
#: The trigger advance-all fires over the imported national regions (verkenning -> aanvraag_ingediend).
NATIONAL_TRIGGER = "dien_aanvraag_in"

PARTNERS = [
    ("Stichting Primair Twente", "schoolbestuur", "PO"),
    ("Scholengroep Oost", "schoolbestuur", "VO"),
    ("ROC Oost-Nederland", "schoolbestuur", "MBO"),
    ("Hogeschool Saxion", "lerarenopleiding", None),
    ("Universiteit Twente", "lerarenopleiding", None),
    ("AOb", "vakbond", None),
    ("Gemeente Enschede", "gemeente", None),
]
ROLES = [("programmamanager", "Anne de Vries", "anne@example.org"),
         ("projectleider", "Joost Bakker", "joost@example.org")]
DOCUMENTS = ["intentieverklaring", "governance", "arbeidsmarktanalyse", "plan_van_aanpak"]
FACTS = {"leerlingen_po": 16000, "leerlingen_vo": 12000, "studenten_mbo": 8000,
         "opgeleide_studenten_2023": 180}


def region_context(slug: str = "twente"):  # type: ignore[no-untyped-def]
    from onderwijsflow.engine.context import DocumentInfo, PartnerInfo, RegionContext, RoleInfo

    return RegionContext(
        slug=slug,
        now=datetime.now(UTC),
        partners=[PartnerInfo(*p) for p in PARTNERS],
        roles=[RoleInfo(*r) for r in ROLES],
        documents=[DocumentInfo(k, f"{k} 2024", f"DOC-{i}", date(2024, 5, 1))
                   for i, k in enumerate(DOCUMENTS)],
        facts=dict(FACTS),
        cases={"regiovorming": ["voorlopige_status"]},
    )


def populate(app: Any, slug: str) -> None:
    """One region through the library, as a coordinator would fill it, up to aanvraag_ingediend."""
    app.create_region(slug, name=f"Regio {slug}", provinces=["Overijssel"], sectors=["PO", "VO"],
                      coordinator="coordinator@example.org")
    for name, kind, sector in PARTNERS:
        app.add_partner(slug, name, kind=kind, sector=sector)
    for role, person, email in ROLES:
        app.assign_role(slug, role, person, email=email)
    for i, kind in enumerate(DOCUMENTS):
        app.add_document(slug, kind, title=f"{kind} 2024", ref=f"DOC-{i}", on=date(2024, 5, 1))
    for name, value in FACTS.items():
        app.set_fact(slug, name, str(value))
    app.advance(slug, "dien_aanvraag_in")


def clone_regions(db: Any, template: str, count: int, prefix: str) -> list[str]:
    """Copy `template` (its rows and its whole audit chain) `count` times, in one transaction.

    Populating 10,000 regions through the library takes ~14 transactions each (minutes), so
    one region is filled through the library and copied here with SQLAlchemy Core. Every
    copy gets its own ids and a re-computed, valid hash chain (``audit verify`` passes).
    Tables are found in the metadata (any table with a ``region_id`` column is copied), so
    the copy follows schema changes; a row it cannot re-point is an error, not a silent skip.
    """
    from sqlalchemy import bindparam, func, insert, select, update

    from onderwijsflow.store.audit import event_hash
    from onderwijsflow.store.tables import Case, Event, Region, metadata

    regions, cases, events = Region.__table__, Case.__table__, Event.__table__  # type: ignore[attr-defined]
    others = [t for t in metadata.sorted_tables
              if "region_id" in t.c and t not in (regions, cases, events)]
    slugs = [f"{prefix}{i:05d}" for i in range(count)]
    with db.engine.begin() as conn:
        reg = dict(conn.execute(select(regions).where(regions.c.slug == template)).mappings().one())
        rid = reg["id"]
        case_rows = [dict(r) for r in conn.execute(select(cases).where(cases.c.region_id == rid)
                                                   .order_by(cases.c.id)).mappings()]
        child_rows = {}
        for t in others:
            rows = [dict(r) for r in conn.execute(select(t).where(t.c.region_id == rid)).mappings()]
            foreign = {fk.parent.name for fk in t.foreign_keys
                       if fk.column.table not in (regions, cases)}
            if rows and foreign:
                raise RuntimeError(f"clone_regions cannot re-point {t.name}.{sorted(foreign)}")
            child_rows[t] = rows
        event_rows = [dict(r) for r in conn.execute(select(events).where(events.c.region_id == rid)
                                                    .order_by(events.c.seq)).mappings()]
        next_region = conn.execute(select(func.max(regions.c.id))).scalar_one() + 1
        next_case = conn.execute(select(func.max(cases.c.id))).scalar_one() + 1
        new_regions, new_cases, new_events, heads = [], [], [], []
        new_children: dict[Any, list[dict[str, Any]]] = {t: [] for t in others}
        for i, slug in enumerate(slugs):
            new_rid = next_region + i
            new_regions.append({**reg, "id": new_rid, "slug": slug, "name": f"Regio {slug}"})
            case_map = {}
            for c in case_rows:
                case_map[c["id"]] = next_case
                new_cases.append({**c, "id": next_case, "region_id": new_rid})
                next_case += 1
            for t, rows in child_rows.items():
                surrogate = [c.name for c in t.primary_key.columns if c.autoincrement is True
                             or (c.name == "id" and len(t.primary_key.columns) == 1)]
                for r in rows:
                    copy = {k: v for k, v in r.items() if k not in surrogate}
                    copy["region_id"] = new_rid
                    if "case_id" in copy and copy["case_id"] is not None:
                        copy["case_id"] = case_map[copy["case_id"]]
                    new_children[t].append(copy)
            prev = ""
            for e in event_rows:
                fields = {**e, "region_id": new_rid, "case_id": case_map.get(e["case_id"]),
                          "prev_hash": prev}
                fields.pop("id")
                fields["hash"] = prev = event_hash(prev, fields)
                new_events.append(fields)
            heads.append({"rid": new_rid, "h": prev})
        conn.execute(insert(regions), new_regions)
        conn.execute(insert(cases), new_cases)
        for t, rows in new_children.items():
            if rows:
                conn.execute(insert(t), rows)
        conn.execute(insert(events), new_events)
        conn.execute(update(regions).where(regions.c.id == bindparam("rid"))
                     .values(event_hash=bindparam("h")), heads)
    return slugs


class SubsidieRows:
    """Rows of subsidie cases in their first state, each with the shipped ``deadline_aanvraag``
    milestone (reminders P30D, P14D, P7D, P1D and the overdue row: five rows per milestone),
    its moments computed by the product's own `due_moment` and `reminder_moments`."""

    def __init__(self, app: Any) -> None:
        from onderwijsflow.deadline_rules import reminder_moments
        from onderwijsflow.engine.milestones import due_moment

        self.definition = app.catalog.current("subsidie").definition
        self.spec = next(m for m in self.definition.milestones if m.name == "deadline_aanvraag")
        self.per_milestone = len(self.spec.remind) + 1
        self._due_moment, self._reminder_moments = due_moment, reminder_moments
        self._reminder_time = app.config.reminder_time
        self._moments: dict[date, tuple[datetime, list[tuple[str, datetime]]]] = {}

    @staticmethod
    def params(day: date) -> dict[str, str]:
        from datetime import timedelta

        return {"deadline_aanvraag": day.isoformat(),
                "beschikking": (day + timedelta(days=108)).isoformat(),
                "jaarverslag_uiterlijk": (day + timedelta(days=623)).isoformat()}

    def moments(self, day: date) -> tuple[datetime, list[tuple[str, datetime]]]:
        """The deadline of a round closing on `day` and its reminder moments (cached per day)."""
        if day not in self._moments:
            deadline = self._due_moment(self.spec, self.params(day), None)
            assert deadline is not None
            self._moments[day] = (deadline, list(self._reminder_moments(self.spec, deadline,
                                                                        self._reminder_time)))
        return self._moments[day]

    def case(self, region_id: int, day: date, entered: datetime) -> dict[str, Any]:
        return {"region_id": region_id, "workflow": "subsidie", "workflow_version": self.definition.version,
                "round": "2025", "params": self.params(day), "state": self.spec.active_in[0],
                "state_entered_at": entered, "opened_at": entered, "lock_version": 0}

    def milestone(self, region_id: int, case_id: int, day: date, entered: datetime) -> dict[str, Any]:
        return {"case_id": case_id, "region_id": region_id, "workflow": "subsidie",
                "name": self.spec.name, "occurrence": 1, "due_at": self.moments(day)[0],
                "status": "pending", "planned_at": entered, "closed_at": None}

    def reminders(self, region_id: int, milestone_id: int, day: date,
                  entered: datetime) -> list[dict[str, Any]]:
        deadline, offsets = self.moments(day)
        rows = [(("reminder", offset), moment) for offset, moment in offsets]
        rows.append((("overdue", ""), deadline))
        return [{"milestone_id": milestone_id, "region_id": region_id, "kind": kind, "offset": offset,
                 "due_at": moment, "status": "pending", "claimed_by": None, "lease_until": None,
                 "updated_at": entered} for (kind, offset), moment in rows]


def seed_reminders(app: Any, pending: int, due: int) -> dict[str, Any]:
    """Rows for `pending` pending reminders, `due` of them due now, inserted with Core.

    One region (coordinator, a programmamanager with an e-mail address, two partners) and
    one subsidie case in ``voorbereiding`` per milestone (`SubsidieRows`). A due milestone's
    deadline lies 20 days ahead, so its P30D reminder fell due 10 days ago (one due row
    each, spread over the id range) and the rest is in the future; every other deadline
    lies 45 days or more ahead, so none of its reminders is due.
    """
    from datetime import timedelta

    from sqlalchemy import insert

    from onderwijsflow.clock import to_local
    from onderwijsflow.store.tables import Case, Milestone, Partner, Region, Reminder, RoleAssignment

    subsidie = SubsidieRows(app)
    count = max(1, pending // subsidie.per_milestone)
    due = min(due, count)
    now = app.now()
    today = to_local(now).date()
    entered = now - timedelta(days=30)
    every = max(1, count // due)
    regions, cases, roles, partners, milestones, reminders = [], [], [], [], [], []
    made_due = 0
    for i in range(count):
        is_due = i % every == 0 and made_due < due
        made_due += is_due
        day = today + timedelta(days=20 if is_due else 45 + i % 320)
        rid = cid = mid = i + 1  # a fresh database: the ids are ours
        regions.append({"id": rid, "slug": f"s{i:06d}", "name": f"Regio s{i:06d}",
                        "provinces": ["Utrecht"], "sectors": ["PO", "VO"],
                        "coordinator": "coordinator@example.org", "created_at": entered,
                        "event_seq": 0, "event_hash": ""})
        cases.append({"id": cid, **subsidie.case(rid, day, entered)})
        roles.append({"region_id": rid, "role": "programmamanager", "person": f"Anne {i}",
                      "email": f"pm{i}@example.org", "assigned_at": entered})
        partners.append({"region_id": rid, "name": f"Stichting Primair {i}", "kind": "schoolbestuur",
                         "sector": "PO", "added_at": entered})
        partners.append({"region_id": rid, "name": f"Pabo {i}", "kind": "lerarenopleiding",
                         "sector": None, "added_at": entered})
        milestones.append({"id": mid, **subsidie.milestone(rid, cid, day, entered)})
        reminders += subsidie.reminders(rid, mid, day, entered)
    with app.db.engine.begin() as conn:
        for table, rows in ((Region, regions), (Case, cases), (RoleAssignment, roles),
                            (Partner, partners), (Milestone, milestones), (Reminder, reminders)):
            conn.execute(insert(table.__table__), rows)  # type: ignore[union-attr]
        if conn.dialect.name == "postgresql":  # the ids were ours: move the sequences past them
            for table in (Region, Case, Milestone):
                name = table.__tablename__
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT max(id) FROM {name}))")
    due_rows = sum(1 for r in reminders if r["due_at"] <= now)
    return {"regions": count, "milestones": count, "reminders": len(reminders), "due": due_rows,
            "due_milestones": made_due}


PROVINCES = ["Groningen", "Friesland", "Drenthe", "Overijssel", "Flevoland", "Gelderland", "Utrecht",
             "Noord-Holland", "Zuid-Holland", "Zeeland", "Noord-Brabant", "Limburg"]


def write_regions_csv(path: Path, count: int) -> None:
    """A file as Dutch Excel saves it (semicolons, UTF-8 with BOM): `count` regions with 3
    partners, 2 people and 2 facts each, varied so the report has something to say (a third
    lack the profession group, one in 20 has no coordinator, sizes around the thresholds)."""
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["slug", "name", "provinces", "sectors", "coordinator", "partners", "people",
                         "fact:leerlingen_po", "fact:opgeleide_studenten_2023"])
        for i in range(count):
            third = (f"AOb afdeling {i}:vakbond" if i % 3 else f"Gemeente {i}:gemeente")
            writer.writerow([
                f"n{i:05d}", f"Onderwijsregio {i}",
                PROVINCES[i % 12] + ("|" + PROVINCES[(i + 1) % 12] if i % 7 == 0 else ""),
                "PO|VO" if i % 2 else "PO|VO|MBO",
                "" if i % 20 == 0 else f"coordinator{i % 40}@example.org",
                f"Stichting Primair {i}:schoolbestuur:PO|Pabo {i}:lerarenopleiding|{third}",
                f"programmamanager:Anne {i}:pm{i}@example.org|projectleider:Joost {i}:pl{i}@example.org",
                str(9_000 + (i * 37) % 12_000), str(100 + i % 120),
            ])


def seed_national_extras(app: Any, count: int) -> dict[str, int]:
    """What a CSV cannot carry, inserted with Core after the import (not timed).

    Documents (every region: intentieverklaring and arbeidsmarktanalyse, so that
    dien_aanvraag_in passes for all; two in three a plan van aanpak, one in two governance,
    so the report finds requirements that block), and a subsidie case of round 2025 per
    region with its deadline_aanvraag milestone and five reminders (`SubsidieRows`), the
    deadlines spread from 30 days ago to 90 days ahead, so the report has overdue and
    upcoming milestones.
    """
    from datetime import timedelta

    from sqlalchemy import insert, select

    from onderwijsflow.clock import to_local
    from onderwijsflow.store.tables import Case, Document, Milestone, Region, Reminder

    subsidie = SubsidieRows(app)
    now = app.now()
    today = to_local(now).date()
    entered = now - timedelta(days=60)
    tables = {t: t.__table__ for t in (Case, Document, Milestone, Region, Reminder)}  # type: ignore[union-attr]

    def returning_ids(conn: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
        return list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                 rows).scalars())

    with app.db.engine.begin() as conn:
        region_ids = list(conn.execute(select(tables[Region].c.id).order_by(tables[Region].c.id)).scalars())
        docs = []
        for n, rid in enumerate(region_ids):
            kinds = ["intentieverklaring", "arbeidsmarktanalyse"]
            kinds += ["plan_van_aanpak"] * (n % 3 != 0) + ["governance"] * (n % 2 == 0)
            docs += [{"region_id": rid, "kind": k, "title": f"{k} 2024", "ref": f"DOC-{rid}-{k}",
                      "date": date(2024, 5, 1), "added_at": entered} for k in kinds]
        conn.execute(insert(tables[Document]), docs)
        days = [today + timedelta(days=n % 120 - 30) for n in range(len(region_ids))]
        case_ids = returning_ids(conn, tables[Case], [subsidie.case(rid, day, entered)
                                                      for rid, day in zip(region_ids, days, strict=True)])
        milestone_ids = returning_ids(conn, tables[Milestone], [
            subsidie.milestone(rid, cid, day, entered)
            for rid, cid, day in zip(region_ids, case_ids, days, strict=True)])
        reminders = [row for rid, mid, day in zip(region_ids, milestone_ids, days, strict=True)
                     for row in subsidie.reminders(rid, mid, day, entered)]
        conn.execute(insert(tables[Reminder]), reminders)
    return {"documents": len(docs), "subsidie cases": len(case_ids), "milestones": len(milestone_ids),
            "reminders": len(reminders)}

