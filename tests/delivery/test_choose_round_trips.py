"""The resident's choice is on B2's hot path (bench/dispatch.py): its unit of work writes the
delivery once and keeps its statements few, so a burst of choices costs PostgreSQL and the
API as little as the rules allow (the attempt, its audit event and its outbox row)."""

from __future__ import annotations

from tests.delivery.conftest import (
    SITI,
    ask_delivery,
    attempts,
    finished_request,
    load,
    statements_of,
)


def test_a_choice_writes_the_delivery_once(client, demo, providers_env, installed, outbox):
    created = ask_delivery(client, demo, finished_request())
    outbox()
    siti = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=siti).json()
    assert view["state"] == "awaiting_choice", view
    quote = view["quotes"][0]
    answers = []

    statements = statements_of(lambda: answers.append(client.post(
        f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
        json={"quote_id": quote["id"]})))

    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["state"] == "booking"
    writes = [s for s in statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    # The choice, the price and the state in one UPDATE; the attempt, the audit event and
    # the outbox row.
    assert sorted(writes) == ["INSERT INTO AUDIT_EVENTS", "INSERT INTO DELIVERY_ATTEMPTS",
                              "INSERT INTO OUTBOX_MESSAGES", "UPDATE DELIVERIES SET"], writes
    # Two reads: the resident's session, then the delivery locked with its quotes and
    # attempts in one statement (the answer's attempt is the new one, not reloaded).
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 2, statements
    assert answers[0].json()["provider"] == quote["provider"]
    delivery = load(created["id"])
    assert delivery.state == "booking"
    assert str(delivery.chosen_quote_id) == quote["id"]
    assert delivery.price == quote["resident_pays"]
    [attempt] = attempts(created["id"])
    assert attempt.status == "pending"
    outbox()
    assert load(created["id"]).state == "searching_courier"
