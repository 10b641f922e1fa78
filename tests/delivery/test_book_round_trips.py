"""The booking task is on B2's hot path (bench/dispatch.py): from the worker's pick-up to the
attempt recorded as booked it costs PostgreSQL few statements in two short units of work, and
the provider is called between them with no transaction open (docs/architecture.md)."""

from __future__ import annotations

from delivery.booking.service import book_attempt
from tests.delivery.conftest import SITI, ask_delivery, attempts, finished_request, statements_of


def test_a_booking_takes_few_statements(client, demo, providers_env, installed, outbox):
    created = ask_delivery(client, demo, finished_request(originals=False))
    outbox()
    siti = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=siti).json()
    answer = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
                         json={"quote_id": view["quotes"][0]["id"]})
    assert answer.status_code == 200, answer.text
    [attempt] = attempts(created["id"])
    book_attempt(attempt.id)  # the provider's circuit row exists from its first booking on
    answer = client.post(f"/api/v1/deliveries/{created['id']}/cancel", headers=siti, json={})
    outbox()
    created = ask_delivery(client, demo, finished_request(originals=False))
    outbox()
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=siti).json()
    answer = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
                         json={"quote_id": view["quotes"][0]["id"]})
    [attempt] = attempts(created["id"])

    results = []
    statements = statements_of(lambda: results.append(book_attempt(attempt.id)))

    assert results == ["booked"]
    # Before the call: one SELECT loads the delivery and the attempt (locked), the office,
    # the quote and the circuit; one UPDATE marks the attempt. After it: the same SELECT,
    # then the booking's writes. A closed circuit without failures is not written.
    assert statements == [
        "SELECT DELIVERIES.OFFICE_ID DELIVERIES.REQUEST_ID", "UPDATE DELIVERY_ATTEMPTS SET",
        "SELECT DELIVERIES.OFFICE_ID DELIVERIES.REQUEST_ID", "INSERT INTO AUDIT_EVENTS",
        "UPDATE DELIVERIES SET", "UPDATE DELIVERY_ATTEMPTS SET"], statements
    [attempt] = attempts(created["id"])
    assert attempt.status == "active" and attempt.provider_order_id and attempt.calls == 1
