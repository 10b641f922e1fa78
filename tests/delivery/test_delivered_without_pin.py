"""A provider's courier reports 'delivered' without the PIN, and nobody collected the
originals: the operator closes it with a recorded decision and sends a courier for the
originals (issue 15, item 5)."""

from __future__ import annotations

from sqlalchemy import select

from core.db import unit_of_work
from core.models import AuditEvent
from tests.delivery.conftest import attempts, load, order_snapshot, post_webhook, status_event
from tests.delivery.helpers import OPERATOR, advance, booked

REASON = "Warga konfirmasi lewat telepon, kurir lupa minta PIN"
SEND_REASON = "Kurir penyedia tidak membawa dokumen asli"


def test_the_operator_closes_it_and_sends_for_the_originals(
        client, demo, providers_env, installed, outbox):
    did, _rid = booked(client, demo, outbox, originals=True)
    advance(client, providers_env, outbox, did, "ASSIGNED", "PICKED_UP", "COMPLETED")
    assert (load(did).state, load(did).alert) == ("delivered", "delivered_without_pin")
    operator = demo.headers(OPERATOR)
    base = f"/api/v1/operator/deliveries/{did}"

    # Sending for the originals needs the handover decision first, with its reason.
    early = client.post(f"{base}/send-for-originals", headers=operator,
                        json={"reason": SEND_REASON})
    assert early.status_code == 409, early.text
    closed = client.post(f"{base}/close-without-pin", headers=operator, json={"reason": REASON})
    assert closed.status_code == 200, closed.text
    assert closed.json()["alert"] is None and load(did).pin_waived_at is not None
    assert load(did).state == "delivered"  # the originals are still with the resident

    short = client.post(f"{base}/send-for-originals", headers=operator, json={"reason": "ok ya"})
    assert short.status_code == 422, short.text
    sent = client.post(f"{base}/send-for-originals", headers=operator,
                       json={"reason": SEND_REASON})
    assert sent.status_code == 200, sent.text
    assert sent.json()["state"] == "returning_originals"
    with unit_of_work() as s:
        decision = s.scalar(select(AuditEvent).where(
            AuditEvent.action == "delivery.originals_sent_for"))
        assert decision is not None and decision.note == SEND_REASON
        assert decision.actor_role == "operator"
    timeline = client.get(base, headers=operator).json()["timeline"]
    assert any(i.get("action") == "delivery.pin_waived" and i["note"] == REASON
               for i in timeline)
    assert any(i.get("action") == "delivery.originals_sent_for" and i["note"] == SEND_REASON
               for i in timeline)

    # A leg back to the office is booked, like after the courier ticks them at the door.
    outbox()
    [leg] = [a for a in attempts(did) if a.leg == "originals"]
    assert leg.provider == "sandbox" and leg.provider_order_id
    order = order_snapshot(providers_env, leg.provider_order_id)
    assert post_webhook(client, status_event(order, "COMPLETED")).status_code == 200
    outbox()
    assert load(did).alert == "originals_arrived"
    originals = [o["code"] for o in load(did).originals]
    done = client.post(f"{base}/originals-received", headers=operator,
                       json={"originals_checked": originals})
    assert done.status_code == 200, done.text
    assert load(did).state == "completed" and load(did).alert is None
    # Sending again is refused: there is nothing left to send for.
    assert client.post(f"{base}/send-for-originals", headers=operator,
                       json={"reason": SEND_REASON}).status_code == 409


def test_without_originals_the_decision_alone_finishes_it(
        client, demo, providers_env, installed, outbox):
    did, _rid = booked(client, demo, outbox, originals=False)
    advance(client, providers_env, outbox, did, "ASSIGNED", "PICKED_UP", "COMPLETED")
    assert load(did).alert == "delivered_without_pin"
    operator = demo.headers(OPERATOR)
    closed = client.post(f"/api/v1/operator/deliveries/{did}/close-without-pin",
                         headers=operator, json={"reason": REASON})
    assert closed.status_code == 200, closed.text
    assert load(did).state == "completed" and load(did).alert is None
    assert client.post(f"/api/v1/operator/deliveries/{did}/send-for-originals",
                       headers=operator, json={"reason": SEND_REASON}).status_code == 409
