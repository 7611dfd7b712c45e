"""The audit log: append-only in the database, hash-chained per region, verifiable."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from onderwijsflow.errors import NotFound
from onderwijsflow.store import audit
from onderwijsflow.store.db import Database
from onderwijsflow.store.tables import Event, Region

AT = datetime(2024, 10, 15, 14, 0, 0, 123456, tzinfo=UTC)
SLUG = "zuidoost-brabant"


def _region(db: Database, slug: str = SLUG) -> Region:
    with db.session() as session:
        region = Region(slug=slug, name=slug.title())
        session.add(region)
    return region


def _append(db: Database, region: Region, count: int = 1, **fields: Any) -> list[Event]:
    """Append `count` events, each in a transaction of its own, as commands do."""
    events = []
    for i in range(count):
        with db.session() as session:
            values = {
                "kind": "transition",
                "actor": "anne",
                "at": AT + timedelta(days=i),
                "workflow": "regiovorming",
                "trigger": "start_pilot",
                "from_state": "verkenning",
                "to_state": "pilot",
                "reason": f"stap {i + 1}",
                "data": {"evidence": [{"requirement": "pva", "passed": True}], "i": i},
                **fields,
            }
            events.append(audit.append_event(session, region, **values))
    return events


def _verify(db: Database, slug: str | None = None) -> audit.VerifyReport:
    with db.session(write=False) as session:
        return audit.verify(session, slug)


def _unguard(db: Database) -> None:
    """What an attacker with raw database access does first: lift the append-only guard."""
    with db.connect() as connection, connection.begin():
        if db.is_sqlite:
            connection.execute(text("DROP TRIGGER events_no_update"))
            connection.execute(text("DROP TRIGGER events_no_delete"))
        else:
            connection.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))


def _raw(db: Database, sql: str, **params: Any) -> None:
    with db.connect() as connection, connection.begin():
        connection.execute(text(sql), params)


# --- the chain -------------------------------------------------------------------------------


def test_a_chain_of_events_verifies(any_db: Database) -> None:
    region = _region(any_db)
    events = _append(any_db, region, 5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == ""
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    report = _verify(any_db)
    assert report.ok
    assert (report.regions, report.events, report.broken) == (1, 5, [])
    with any_db.session(write=False) as session:
        head = session.exec(select(Region).where(Region.slug == SLUG)).one()
        assert (head.event_seq, head.event_hash) == (5, events[-1].hash)


def test_events_keep_effective_and_wall_clock_time(any_db: Database) -> None:
    region = _region(any_db)
    before = datetime.now(UTC)
    (event,) = _append(any_db, region)
    with any_db.session(write=False) as session:
        stored = session.get(Event, event.id)
        assert stored is not None
    assert stored.at == AT  # the simulated, effective moment, to the microsecond
    assert before <= stored.recorded_at <= datetime.now(UTC)
    assert stored.data == {"evidence": [{"requirement": "pva", "passed": True}], "i": 0}


def test_data_is_stored_exactly_as_it_was_hashed(any_db: Database) -> None:
    region = _region(any_db)
    data = {
        "old": Decimal("1250000.50"),
        "new": None,
        "on": date(2024, 10, 15),
        "when": datetime(2024, 10, 15, 18, 0, tzinfo=UTC),
        "overridden": ("pva_aanwezig",),
        "label": "Beroepsgroep betrokken — ja ✓",
    }
    (event,) = _append(any_db, region, kind="fact_set", data=data)
    assert event.data == {
        "old": "1250000.50",
        "new": None,
        "on": "2024-10-15",
        "when": "2024-10-15T18:00:00.000000+00:00",
        "overridden": ["pva_aanwezig"],
        "label": "Beroepsgroep betrokken — ja ✓",
    }
    assert _verify(any_db).ok


def test_events_can_be_appended_in_bulk_without_flushing(any_db: Database) -> None:
    with any_db.session() as session:
        regions = [Region(slug=f"regio-{i}", name=f"Regio {i}") for i in range(3)]
        session.add_all(regions)  # not flushed yet: append_event gives them their ids
        events = [
            audit.append_event(
                session, regions[i % 3], kind="reminder_sent", actor="scheduler", at=AT, flush=False
            )
            for i in range(30)
        ]
        assert events[-1].id is None  # still pending: written at the commit
    assert all(event.id is not None for event in events)
    assert [e.seq for e in events if e.region_id == regions[0].id] == list(range(1, 11))
    report = _verify(any_db)
    assert (report.ok, report.regions, report.events) == (True, 3, 30)


def test_a_batch_writes_each_events_data_as_the_text_it_hashed(any_db: Database) -> None:
    """The one batch writer keeps an event's canonical data as text (nothing reads it back):
    written as that text, it is the data read back, and the chain verifies."""
    from onderwijsflow.store.db import JsonText

    data = {"amount": Decimal("1250000.50"), "on": date(2024, 10, 15), "label": "ja ✓",
            "nested": {"b": [1, 2], "a": None}}
    with any_db.session() as session:
        regions = [Region(slug=f"regio-{i}", name=f"Regio {i}") for i in range(2)]
        session.add_all(regions)
        session.flush()
        batch = audit.EventBatch()
        rows = [batch.append(regions[i % 2], kind="fact_set", actor="bulk", at=AT, data=data)
                for i in range(4)]
        assert all(isinstance(row["data"], JsonText) for row in rows)
        batch.write(session)
    with any_db.session() as session:
        stored = session.exec(select(Event).order_by(Event.id)).all()  # type: ignore[arg-type]
    assert [e.data for e in stored] == [{"amount": "1250000.50", "on": "2024-10-15", "label": "ja ✓",
                                         "nested": {"a": None, "b": [1, 2]}}] * 4
    report = _verify(any_db)
    assert (report.ok, report.events) == (True, 4)


def test_naive_effective_time_is_refused(db: Database) -> None:
    region = _region(db)
    with pytest.raises(ValueError, match="aware"), db.session() as session:
        audit.append_event(session, region, kind="x", actor="a", at=datetime(2024, 1, 1))


def test_an_event_rolls_back_with_its_transaction(any_db: Database) -> None:
    region = _region(any_db)
    _append(any_db, region, 2)
    with pytest.raises(RuntimeError), any_db.session() as session:
        audit.append_event(session, region, kind="transition", actor="anne", at=AT)
        raise RuntimeError("the transition failed after all")
    report = _verify(any_db)
    assert (report.ok, report.events) == (True, 2)
    assert _append(any_db, region)[0].seq == 3


def test_two_regions_have_independent_chains(any_db: Database) -> None:
    brabant, utrecht = _region(any_db), _region(any_db, "utrecht")
    a = _append(any_db, brabant, 3)
    b = _append(any_db, utrecht, 2)
    assert [e.seq for e in a] == [1, 2, 3]
    assert [e.seq for e in b] == [1, 2]
    assert b[0].prev_hash == ""
    _unguard(any_db)
    _raw(any_db, "UPDATE events SET actor = 'mallory' WHERE id = :id", id=a[1].id)
    assert _verify(any_db, "utrecht").ok
    report = _verify(any_db)
    assert (report.regions, report.events) == (2, 5)
    assert [(x.region, x.seq) for x in report.broken] == [(SLUG, 2)]


def test_concurrent_appends_to_one_region_form_one_chain(any_db: Database) -> None:
    region = _region(any_db)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            _append(any_db, region, 10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = _verify(any_db)
    assert (report.ok, report.events) == (True, 40)


def test_verify_of_an_unknown_region_is_not_found(db: Database) -> None:
    _region(db)
    with pytest.raises(NotFound, match="no region 'atlantis'"):
        _verify(db, "atlantis")


def test_verify_of_an_empty_log(db: Database) -> None:
    _region(db)
    report = _verify(db)
    assert (report.ok, report.regions, report.events) == (True, 1, 0)
    assert report.as_dict() == {"ok": True, "regions": 1, "events": 0, "broken": []}


# --- append-only in the database ---------------------------------------------------------


def test_the_database_refuses_updates_of_events(any_db: Database) -> None:
    (event,) = _append(any_db, _region(any_db))
    with pytest.raises(IntegrityError, match="events are append-only"):
        _raw(any_db, "UPDATE events SET reason = 'anders' WHERE id = :id", id=event.id)


def test_the_database_refuses_deletes_of_events(any_db: Database) -> None:
    (event,) = _append(any_db, _region(any_db))
    with pytest.raises(IntegrityError, match="events are append-only"):
        _raw(any_db, "DELETE FROM events WHERE id = :id", id=event.id)
    with pytest.raises(IntegrityError, match="events are append-only"):
        _raw(any_db, "DELETE FROM events")


def test_the_orm_cannot_change_an_event_either(any_db: Database) -> None:
    (event,) = _append(any_db, _region(any_db))
    with pytest.raises(IntegrityError, match="events are append-only"), any_db.session() as s:
        stored = s.get(Event, event.id)
        assert stored is not None
        stored.reason = "rewritten"
    assert _verify(any_db).ok


def test_postgresql_refuses_truncating_events(pg_db: Database) -> None:
    _append(pg_db, _region(pg_db))
    with pytest.raises(IntegrityError, match="events are append-only"):
        _raw(pg_db, "TRUNCATE events CASCADE")
    assert _verify(pg_db).events == 1


# --- tampering is detected -------------------------------------------------------------


def test_an_altered_event_is_named(any_db: Database) -> None:
    _append(any_db, _region(any_db), 9)
    _unguard(any_db)
    _raw(any_db, "UPDATE events SET reason = 'nooit gebeurd' WHERE seq = 7")
    report = _verify(any_db, SLUG)
    assert not report.ok
    assert [b.sentence for b in report.broken] == [
        "event 7 of zuidoost-brabant: its hash does not match its content (altered after it was written)"
    ]
    assert report.broken[0] == (SLUG, 7, report.broken[0].reason)


def test_an_altered_and_rehashed_event_breaks_the_next_link(any_db: Database) -> None:
    events = _append(any_db, _region(any_db), 4)
    target = events[1]
    fields = {name: getattr(target, name) for name in audit.HASHED_FIELDS}
    fields["to_state"] = "definitief"
    forged = audit.event_hash(target.prev_hash, fields)
    _unguard(any_db)
    _raw(
        any_db,
        "UPDATE events SET to_state = 'definitief', hash = :h WHERE id = :id",
        h=forged,
        id=target.id,
    )
    (broken,) = _verify(any_db).broken
    assert broken == (SLUG, 3, "prev_hash does not match event 2")


def test_a_deleted_event_is_a_gap(any_db: Database) -> None:
    _append(any_db, _region(any_db), 6)
    _unguard(any_db)
    _raw(any_db, "DELETE FROM events WHERE seq = 5")
    (broken,) = _verify(any_db).broken
    assert broken.sentence == "event 6 of zuidoost-brabant: sequence gap: event 5 missing"


def test_a_deleted_last_event_disagrees_with_the_region_head(any_db: Database) -> None:
    _append(any_db, _region(any_db), 9)
    _unguard(any_db)
    _raw(any_db, "DELETE FROM events WHERE seq = 9")
    (broken,) = _verify(any_db).broken
    assert broken.reason == "region head says 9 events, 8 found"


def test_a_rewound_region_head_is_noticed(any_db: Database) -> None:
    region = _region(any_db)
    _append(any_db, region, 3)
    _raw(any_db, "UPDATE regions SET event_hash = 'x' WHERE id = :id", id=region.id)
    (broken,) = _verify(any_db).broken
    assert broken.reason == "region head hash does not match event 3"


# --- the hash itself -------------------------------------------------------------------


def _fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "region_id": 1,
        "seq": 1,
        "case_id": None,
        "workflow": "subsidie",
        "kind": "transition",
        "trigger": "dien_aanvraag_in",
        "from_state": "voorbereiding",
        "to_state": "aanvraag_ingediend",
        "actor": "anne",
        "reason": None,
        "at": AT,
        "recorded_at": AT,
        "data": {"b": 1, "a": [1, 2]},
        "prev_hash": "",
    }
    return {**fields, **changes}


def test_event_hash_is_pure_and_ignores_id_and_hash() -> None:
    first = audit.event_hash("", _fields())
    assert first == audit.event_hash("", _fields(id=99, hash="whatever"))
    assert len(first) == 64
    assert first == audit.event_hash("", _fields(data={"a": [1, 2], "b": 1}))
    # The same moment in another zone is the same moment.
    local = AT.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert first == audit.event_hash("", _fields(at=local))


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 2},
        {"case_id": 3},
        {"kind": "refused"},
        {"actor": "piet"},
        {"reason": ""},
        {"at": AT + timedelta(microseconds=1)},
        {"recorded_at": AT - timedelta(seconds=1)},
        {"data": {"b": 1, "a": [2, 1]}},
        {"region_id": 2},
    ],
)
def test_event_hash_covers_every_field(change: dict[str, Any]) -> None:
    assert audit.event_hash("", _fields()) != audit.event_hash("", _fields(**change))


def test_event_hash_chains_on_the_previous_hash() -> None:
    assert audit.event_hash("", _fields()) != audit.event_hash("ab" * 32, _fields())


def test_canonical_json_is_fixed() -> None:
    value = {"z": 1, "a": {"y": [1.5, None, True]}, "t": AT, "d": date(2024, 1, 2)}
    assert audit.canonical_json(value) == (
        '{"a":{"y":[1.5,null,true]},"d":"2024-01-02","t":"2024-10-15T14:00:00.123456+00:00","z":1}'
    )
    with pytest.raises(ValueError):
        audit.canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        audit.canonical_json({"x": object()})
    with pytest.raises(TypeError, match="naive"):
        audit.canonical_json({"x": datetime(2024, 1, 1)})


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.text(max_size=8), JSON, max_size=5), reason=st.text(max_size=40))
def test_any_json_data_survives_storage_and_verifies(db: Database, data: dict[str, Any], reason: str) -> None:
    with db.session() as session:
        region = session.exec(select(Region).where(Region.slug == SLUG)).first()
        if region is None:
            region = Region(slug=SLUG, name="Zuidoost-Brabant")
            session.add(region)
            session.flush()
        audit.append_event(session, region, kind="fact_set", actor="anne", at=AT, reason=reason, data=data)
    report = _verify(db)
    assert report.ok, report.broken


def test_an_event_hashed_with_its_data_text_reused_verifies_as_one_hashed_from_scratch() -> None:
    """`event_fields` splices the canonical text of `data` into the hashed text instead of
    encoding it twice; the hash must be exactly `event_hash` of the stored fields, whatever
    the data holds (keys that sort around ``from_state``, quotes, text that looks like keys)."""
    from datetime import UTC, datetime

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from onderwijsflow.store.audit import event_fields, event_hash

    values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                          lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=12), inner, max_size=3), max_leaves=8)

    @settings(max_examples=200, deadline=None)
    @given(data=st.dictionaries(st.sampled_from(["from_state", ',"from_state":', "data", "a", "z"])
                                | st.text(max_size=8), values, max_size=4),
           state=st.none() | st.text(max_size=12))
    def check(data: dict[str, object], state: str | None) -> None:
        fields = event_fields(7, 3, "f" * 64, kind="transition", actor="anne",
                              at=datetime(2024, 9, 2, 10, tzinfo=UTC), from_state=state,
                              to_state="b", data=data)
        assert fields["hash"] == event_hash("f" * 64, fields)

    check()
