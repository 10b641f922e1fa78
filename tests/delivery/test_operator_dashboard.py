"""The operator's dashboard at volume: the exception list's order and paging, the summary
counts scoped to the office, and (PostgreSQL) plans that read indexes instead of sorting or
scanning the office's whole history."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select, text

from core.db import unit_of_work, utcnow
from core.models import User
from delivery.models import AttemptStatus, Delivery, DeliveryAttempt, Leg
from delivery.models import DeliveryState as D
from delivery.operators import service
from tests.delivery.conftest import DEWI, SITI, finished_request
from tests.delivery.helpers import OPERATOR
from tests.web.helpers import sign_in_as

NOW = utcnow()


def _delivery(phone: str, state: D, *, changed_days_ago: float, alert: str | None = None,
              alert_minutes_ago: float | None = None) -> uuid.UUID:
    request_id = finished_request(phone)
    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.phone == phone))
        assert user is not None and user.office_id is not None
        delivery = Delivery(
            office_id=user.office_id, request_id=request_id, resident_id=user.id, state=state,
            state_changed_at=NOW - timedelta(days=changed_days_ago), recipient_name="Warga",
            recipient_phone=phone, address="Jl. Kenanga No. 5", lat=-6.3952, lng=106.8461,
            budget_deadline=NOW, alert=alert,
            alert_at=None if alert_minutes_ago is None
            else NOW - timedelta(minutes=alert_minutes_ago))
        s.add(delivery)
        s.flush()
        return delivery.id


def _operator(username: str = OPERATOR) -> User:
    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        s.expunge(user)
        return user


def _listed(states: list[D] | None = None, *, limit: int = 50, offset: int = 0
            ) -> list[uuid.UUID]:
    with unit_of_work() as s:
        return [d.id for d in service.listing(s, _operator(), states=states, limit=limit,
                                              offset=offset)]


@pytest.fixture
def office_deliveries(demo) -> list[uuid.UUID]:
    """Mekarjaya's deliveries in the order the operator must see them, after a few of
    Abadijaya's that must never show."""
    _delivery(DEWI, D.in_transit, changed_days_ago=9, alert="stuck", alert_minutes_ago=1)
    _delivery(DEWI, D.completed, changed_days_ago=8)
    older_alert = _delivery(SITI, D.in_transit, changed_days_ago=1, alert="late_delivery",
                            alert_minutes_ago=60)
    newer_alert = _delivery(SITI, D.returning, changed_days_ago=2, alert="failed",
                            alert_minutes_ago=5)
    oldest = _delivery(SITI, D.completed, changed_days_ago=30)
    # An alert that was cleared without its time (the handover does that): not flagged, so
    # it sorts by its last state change like any other.
    cleared = _delivery(SITI, D.in_transit, changed_days_ago=4, alert=None,
                        alert_minutes_ago=1)
    recent = _delivery(SITI, D.in_transit, changed_days_ago=3)
    newest = _delivery(SITI, D.awaiting_choice, changed_days_ago=0.5)
    return [newer_alert, older_alert, oldest, cleared, recent, newest]


def test_exception_list_flagged_first_then_oldest_state_change(office_deliveries):
    assert _listed() == office_deliveries
    # Every page of every size is the same order cut at the same place.
    for limit in range(1, 8):
        for offset in range(0, 8):
            assert _listed(limit=limit, offset=offset) == \
                office_deliveries[offset:offset + limit], (limit, offset)
    _, older_alert, _, cleared, recent, newest = office_deliveries
    assert _listed([D.in_transit]) == [older_alert, cleared, recent]
    assert _listed([D.in_transit], limit=1, offset=1) == [cleared]
    assert _listed([D.in_transit, D.awaiting_choice], offset=1) == [cleared, recent, newest]
    assert _listed([D.cancelled]) == []


def test_exception_list_over_http_loads_attempts_in_one_query(client, engine,
                                                              office_deliveries):
    with unit_of_work() as s:
        for delivery_id in office_deliveries:
            delivery = s.get(Delivery, delivery_id)
            assert delivery is not None
            s.add(DeliveryAttempt(
                delivery_id=delivery_id, office_id=delivery.office_id, leg=Leg.outbound,
                provider="sandbox", reference=f"spk-{uuid.uuid4().hex[:12]}",
                status=AttemptStatus.done))
    headers = _headers(client)
    with _statements(engine) as seen:
        listed = client.get("/api/v1/operator/deliveries", headers=headers).json()
    assert [d["id"] for d in listed] == [str(i) for i in office_deliveries]
    assert all(len(d["attempts"]) == 1 for d in listed)
    # One attempts query per part of the list (flagged, then the others), never one a row.
    assert len([q for q in seen if "FROM delivery_attempts" in q]) <= 2
    assert not [q for q in seen if "FROM delivery_quotes" in q]


def test_summary_counts_the_office_open_flagged_and_recent_endings(client, demo):
    _delivery(SITI, D.in_transit, changed_days_ago=1)
    _delivery(SITI, D.in_transit, changed_days_ago=200, alert="stuck", alert_minutes_ago=3)
    _delivery(SITI, D.awaiting_choice, changed_days_ago=0.1)
    _delivery(SITI, D.completed, changed_days_ago=2, alert="delivered_without_pin",
              alert_minutes_ago=10)
    _delivery(SITI, D.completed, changed_days_ago=29)
    _delivery(SITI, D.completed, changed_days_ago=31)  # outside the window
    _delivery(SITI, D.cancelled, changed_days_ago=400)
    _delivery(SITI, D.pickup_offered, changed_days_ago=3)
    # Abadijaya's: never in Mekarjaya's counts.
    _delivery(DEWI, D.in_transit, changed_days_ago=1, alert="stuck", alert_minutes_ago=1)
    _delivery(DEWI, D.completed, changed_days_ago=1)
    _delivery(DEWI, D.searching_courier, changed_days_ago=1)

    got = client.get("/api/v1/operator/summary", headers=_headers(client)).json()
    open_states = [s for s in D if s not in (D.completed, D.cancelled, D.returned_to_office,
                                             D.pickup_offered)]
    assert list(got["by_state"]) == [str(s) for s in open_states]
    assert {k: v for k, v in got["by_state"].items() if v} == {"in_transit": 2,
                                                               "awaiting_choice": 1}
    assert got["flagged"] == 2
    assert got["finished_last_30_days"] == {"completed": 2, "returned_to_office": 0,
                                            "pickup_offered": 1, "cancelled": 0}

    other = client.get("/api/v1/operator/summary",
                       headers=_headers(client, "operator.abadijaya")).json()
    assert {k: v for k, v in other["by_state"].items() if v} == {"in_transit": 1,
                                                                 "searching_courier": 1}
    assert other["flagged"] == 1
    assert other["finished_last_30_days"]["completed"] == 1
    assert client.get("/api/v1/operator/summary", headers=demo.headers(SITI)
                      ).status_code == 403


def test_deliveries_page_shows_the_counts(client, demo):
    _delivery(SITI, D.in_transit, changed_days_ago=1, alert="stuck", alert_minutes_ago=3)
    _delivery(SITI, D.in_transit, changed_days_ago=1)
    _delivery(SITI, D.completed, changed_days_ago=1)
    _delivery(DEWI, D.in_transit, changed_days_ago=1)
    sign_in_as(client, OPERATOR)
    page = client.get("/operator/pengantaran")
    assert page.status_code == 200
    assert 'id="count-flagged">1<' in page.text and "Ditandai bermasalah" in page.text
    assert 'id="count-in_transit">2<' in page.text
    assert 'id="count-completed">1<' in page.text


def _headers(client, username: str = OPERATOR) -> dict[str, str]:
    from tests.fixtures import Demo

    return Demo().headers(username)


@contextmanager
def _statements(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- PostgreSQL plans -----------------------------------------------------------------------

ROWS = 4000


def _bulk(office_ids: dict[str, uuid.UUID]) -> None:
    """ROWS deliveries over two offices, mostly finished long ago, 1 % flagged."""
    request_id = finished_request(SITI)
    with unit_of_work() as s:
        siti = s.scalar(select(User).where(User.phone == SITI))
        assert siti is not None
        states = [D.completed] * 6 + [D.cancelled, D.in_transit, D.awaiting_choice,
                                      D.returned_to_office]
        rows = [{"id": uuid.uuid4(),
                 "office_id": office_ids["mekarjaya" if i % 2 else "abadijaya"],
                 "request_id": request_id, "resident_id": siti.id,
                 "state": str(states[i % len(states)]),
                 "state_changed_at": NOW - timedelta(hours=i), "recipient_name": f"Warga {i}",
                 "recipient_phone": SITI, "address": "Jl. Bench", "lat": -6.39, "lng": 106.84,
                 "originals": [], "originals_collected": [], "choice_policy": "resident",
                 "subsidy": 0, "excluded_providers": [], "auto_choose": False,
                 "budget_deadline": NOW, "quote_errors": {}, "pin_attempts": 0,
                 "created_at": NOW, "updated_at": NOW,
                 "alert": "stuck" if i % 100 == 1 else None,
                 "alert_at": NOW - timedelta(minutes=i) if i % 50 == 1 else None}
                for i in range(ROWS)]
        s.execute(insert(Delivery), rows)


def _plans(engine, calls) -> list[tuple[str, dict]]:
    """Run ``calls`` and EXPLAIN every query they sent to ``deliveries``."""
    with _statements_with_parameters(engine) as seen:
        calls()
    plans = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            if "FROM deliveries" not in statement:
                continue
            [[plan]] = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                            parameters).all()
            plans.append((statement, plan[0]["Plan"]))
    return plans


@contextmanager
def _statements_with_parameters(engine):
    seen: list[tuple[str, dict]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_postgres_reads_the_dashboard_from_indexes(backend, engine, demo):
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    with unit_of_work() as s:
        from core.models import Office

        offices = {o.slug: o.id for o in s.scalars(select(Office))}
    _bulk(offices)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) deliveries"))
    operator = _operator()

    def dashboard() -> None:
        with unit_of_work() as s:
            service.listing(s, operator, states=None, limit=50, offset=0)
            service.listing(s, operator, states=None, limit=50, offset=100)
            service.listing(s, operator, states=[D.in_transit], limit=50, offset=0)
            service.summary(s, operator)

    plans = _plans(engine, dashboard)
    # Flagged + others; flagged (none at that offset) + their count + others; flagged +
    # others in one state; the summary's three counts.
    assert len(plans) == 10, [p for p, _ in plans]
    for statement, plan in plans:
        nodes = list(_nodes(plan))
        kinds = [n["Node Type"] for n in nodes]
        assert "Seq Scan" not in kinds, (statement, kinds)
        indexes = {n["Index Name"] for n in nodes if "Index Name" in n}
        assert indexes and all(i.startswith("ix_deliveries_office_") for i in indexes), (
            statement, kinds, indexes)
        # A sort may order the rows of one small index range (the flagged ones, one state),
        # never the office's deliveries.
        for node in nodes:
            if node["Node Type"] == "Sort":
                assert node["Plan Rows"] <= ROWS // 10, (statement, node)
