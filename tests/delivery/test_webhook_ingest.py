"""Webhook events stored with group commit (delivery.tracking.ingest): a burst shares
transactions, every event is stored once, one ``tracking.apply_batch`` task sent after the
commit carries the new ids of a batch (no outbox row: the pending events are their own record,
re-driven by the sweeper), and the events are applied from it."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from core.db import unit_of_work, utcnow
from core.models import OutboxMessage
from delivery.models import TrackingEvent
from delivery.tracking import ingest
from delivery.tracking.service import APPLY_BATCH_TASK, event_row
from providers.status import DeliveryStatus
from providers.types import TrackingUpdate
from tests.delivery.conftest import load, signed, status_event
from tests.delivery.test_webhooks import _booked
from tests.fixtures import SENT_AFTER_COMMIT


def _update(event_id: str) -> TrackingUpdate:
    return TrackingUpdate(provider="sandbox", provider_order_id="so_1",
                          provider_event_id=event_id, status=DeliveryStatus.courier_assigned,
                          raw_status="ASSIGNED", reference="DLV-1", occurred_at=utcnow())


def _row(event_id: str, *, tracked: bool = True) -> dict:
    return event_row("sandbox", event_id, _update(event_id) if tracked else None,
                     source="webhook", body="{}", headers={})


def _apply_batches() -> list[list[int]]:
    """The ``tracking.apply_batch`` tasks sent after commits so far."""
    return [kwargs["event_ids"] for name, kwargs in SENT_AFTER_COMMIT
            if name == APPLY_BATCH_TASK]


def _outbox_rows() -> int:
    with unit_of_work() as s:
        return len(list(s.scalars(select(OutboxMessage))))


def test_one_transaction_stores_each_event_once_and_queues_the_new_ones(engine):
    [old] = ingest.write_events([_row("evt_old")])
    assert old.event_id is not None

    out = ingest.write_events([_row("evt_a"), _row("evt_a"), _row("evt_old"),
                               _row("evt_b"), _row("ping", tracked=False)])

    a, a_again, old_again, b, ping = out
    assert a.event_id and b.event_id and ping.event_id
    assert a_again.event_id is None and old_again.event_id is None  # duplicates
    with unit_of_work() as s:
        rows = {e.provider_event_id: e for e in s.scalars(select(TrackingEvent))}
    assert sorted(rows) == ["evt_a", "evt_b", "evt_old", "ping"]
    assert rows["ping"].outcome == "ignored" and rows["evt_a"].outcome == "pending"
    # One task per batch, no outbox row; the ignored event is kept but never applied.
    assert _apply_batches() == [[old.event_id], sorted([a.event_id, b.event_id])]
    assert _outbox_rows() == 0


def test_a_row_the_database_refuses_fails_alone(engine):
    poison = {**_row("evt_poison"), "apply_tries": None}  # NOT NULL: refused
    out = ingest.write_events([_row("evt_ok_1"), poison, _row("evt_ok_2")])

    assert isinstance(out[1], Exception)
    assert out[0].event_id and out[2].event_id
    with unit_of_work() as s:
        stored = set(s.scalars(select(TrackingEvent.provider_event_id)))
    assert stored == {"evt_ok_1", "evt_ok_2"}


def test_a_stored_event_keeps_its_body_headers_data_and_times_exactly(engine):
    """The rows travel to PostgreSQL as one JSON document: quotes, backslashes, non-ASCII
    text, nested JSON and aware timestamps come back as they went in."""
    body = '{"note": "say \\"hi\\" \\\\ back", "alamat": "Jl. Kenanga No. 5 – RT 03"}'
    row = event_row("sandbox", "evt_exact", _update("evt_exact"), source="webhook",
                    body=body, headers={"user-agent": 'x "q" \\ é'})
    [stored] = ingest.write_events([row])
    with unit_of_work() as s:
        event = s.get(TrackingEvent, stored.event_id)
        assert event is not None
        assert event.body == body
        assert event.headers == {"user-agent": 'x "q" \\ é'}
        assert event.data == row["data"]
        assert event.occurred_at == row["occurred_at"]
        assert event.received_at == row["received_at"]
        assert (event.status, event.raw_status, event.reference) == (
            "courier_assigned", "ASSIGNED", "DLV-1")


def test_a_burst_of_webhooks_shares_commits_and_every_event_is_applied(
        app, client, demo, providers_env, outbox, installed):
    delivery_id, order = _booked(client, demo, providers_env, outbox)
    events = [status_event(order, "ASSIGNED", event_id=f"evt_burst_{i}") for i in range(40)]
    events += events[:5]  # five arrive twice
    batches_before = ingest.writer.batches

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(*[
                c.post("/webhooks/sandbox", content=body, headers=headers)
                for body, headers in map(signed, events)])

    responses = asyncio.run(burst())

    assert [r.status_code for r in responses] == [200] * 45
    assert sum(r.json()["received"] for r in responses) == 40
    assert sum(r.json()["duplicates"] for r in responses) == 5
    writes = ingest.writer.batches - batches_before
    assert writes < 40, "concurrent webhooks share transactions"
    with unit_of_work() as s:
        stored = list(s.scalars(select(TrackingEvent.id).where(
            TrackingEvent.provider_event_id.like("evt_burst_%"))))
    assert len(stored) == 40
    queued = [i for ids in _apply_batches() for i in ids]
    assert sorted(set(stored) & set(queued)) == sorted(stored)

    assert APPLY_BATCH_TASK in outbox()
    assert load(delivery_id).state == "courier_assigned"
    with unit_of_work() as s:
        outcomes = {e.outcome for e in s.scalars(select(TrackingEvent).where(
            TrackingEvent.provider_event_id.like("evt_burst_%")))}
    assert outcomes <= {"applied", "stale"} and "applied" in outcomes


def test_the_postgresql_insert_names_every_column_of_a_stored_event():
    """The set-wise insert lists its columns by hand: a column added to ``event_row`` (or
    dropped) must show in the statement too."""
    from delivery.repository import _EVENT_COLUMNS, _PG_INSERT_EVENTS

    assert set(_row("evt_cols")) == set(_EVENT_COLUMNS)
    head = _PG_INSERT_EVENTS.split("(", 1)[1].split(")", 1)[0]
    assert [c.strip() for c in head.split(",")] == list(_EVENT_COLUMNS)
    selected = _PG_INSERT_EVENTS.split("SELECT ", 1)[1].split(" FROM", 1)[0]
    assert [c.strip() for c in selected.split(",")] == list(_EVENT_COLUMNS)
    record = _PG_INSERT_EVENTS.split(" AS r(", 1)[1].split(") ON CONFLICT", 1)[0]
    assert record == ", ".join(f"{c} {kind}" for c, kind in _EVENT_COLUMNS.items())
