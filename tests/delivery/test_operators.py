"""Operator monitoring and actions, scoped to the operator's own office; the admin's policy."""

from __future__ import annotations

from tests.delivery.conftest import DEWI, SITI, attempts, load
from tests.delivery.helpers import OPERATOR, advance, booked


def test_list_detail_and_office_scoping(client, demo, providers_env, installed, outbox):
    did, _ = booked(client, demo, outbox)
    other, _ = booked(client, demo, outbox, phone=DEWI)
    operator = demo.headers(OPERATOR)
    listed = client.get("/api/v1/operator/deliveries", headers=operator).json()
    assert [d["id"] for d in listed] == [did]  # never another office's
    assert client.get(f"/api/v1/operator/deliveries/{other}", headers=operator
                      ).status_code == 404
    assert client.get("/api/v1/operator/deliveries", headers=demo.headers(SITI)
                      ).status_code == 403
    detail = client.get(f"/api/v1/operator/deliveries/{did}", headers=operator).json()
    actions = [i.get("to") for i in detail["timeline"] if i["kind"] == "audit"]
    assert actions[-3:] == ["awaiting_choice", "booking", "searching_courier"]
    assert detail["attempts"][0]["reference"].startswith("spk-")
    health = client.get("/api/v1/operator/providers", headers=operator).json()
    assert {p["name"] for p in health} >= {"sandbox", "inhouse"}
    assert next(p for p in health if p["name"] == "sandbox")["circuit"] == "closed"


def test_exceptions_first(client, demo, providers_env, installed, outbox):
    first, _ = booked(client, demo, outbox, originals=False)
    second, _ = booked(client, demo, outbox, originals=False)
    advance(client, providers_env, outbox, second, "ASSIGNED", "PICKED_UP", "COMPLETED")
    assert load(second).alert == "delivered_without_pin"
    operator = demo.headers(OPERATOR)
    listed = client.get("/api/v1/operator/deliveries", headers=operator).json()
    assert [d["id"] for d in listed] == [second, first]
    only = client.get("/api/v1/operator/deliveries?state=searching_courier",
                      headers=operator).json()
    assert [d["id"] for d in only] == [first]
    cleared = client.post(f"/api/v1/operator/deliveries/{second}/clear-alert", headers=operator)
    assert cleared.json()["alert"] is None


def test_cancel_before_pickup_only(client, demo, providers_env, installed, outbox):
    did, rid = booked(client, demo, outbox)
    operator = demo.headers(OPERATOR)
    cancelled = client.post(f"/api/v1/operator/deliveries/{did}/cancel", headers=operator,
                            json={"reason": "Pemohon datang sendiri"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    ran = outbox()
    assert "delivery.cancel_attempt" in ran
    [attempt] = attempts(did)
    assert attempt.status == "cancelled"
    order = providers_env.simulator.get(attempt.provider_order_id)
    assert order["status"] == "CANCELLED"
    # The resident now has a pickup code; the request waits at the office.
    from core.db import unit_of_work
    from core.models import DocumentRequest

    with unit_of_work() as s:
        request = s.get(DocumentRequest, rid)
        assert request is not None and request.handover_method == "pickup"
        assert request.pickup_code

    other, _ = booked(client, demo, outbox)
    advance(client, providers_env, outbox, other, "ASSIGNED", "PICKED_UP")
    refused = client.post(f"/api/v1/deliveries/{other}/cancel", headers=demo.headers(SITI),
                          json={"reason": "Tidak jadi"})
    assert refused.status_code == 409
    assert load(other).state == "picked_up"


def test_retry_with_another_provider(client, demo, providers_env, inhouse_on, installed,
                                     outbox):
    did, _ = booked(client, demo, outbox, originals=False)
    operator = demo.headers(OPERATOR)
    retried = client.post(f"/api/v1/operator/deliveries/{did}/retry", headers=operator,
                          json={"provider": "inhouse"})
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "quoting"
    outbox()
    first, second = attempts(did)
    assert (first.provider, first.status) == ("sandbox", "cancelled")
    assert (second.provider, second.status) == ("inhouse", "active")
    assert load(did).state == "searching_courier"
    assert client.post(f"/api/v1/operator/deliveries/{did}/retry", headers=operator,
                       json={"provider": "nope"}).status_code == 422


def test_office_admin_policy(client, demo, providers_env, installed, outbox):
    admin = demo.headers("admin.mekarjaya")
    got = client.get("/api/v1/admin/delivery-policy", headers=admin).json()
    assert got["effective"]["choice_policy"] == "resident" and got["overrides"] == {}
    assert client.get("/api/v1/admin/delivery-policy", headers=demo.headers(OPERATOR)
                      ).status_code == 403
    bad = client.patch("/api/v1/admin/delivery-policy", headers=admin,
                       json={"choice_policy": "random"})
    assert bad.status_code == 422
    assert client.patch("/api/v1/admin/delivery-policy", headers=admin,
                        json={"colour": "red"}).status_code == 422
    changed = client.patch("/api/v1/admin/delivery-policy", headers=admin, json={
        "choice_policy": "cheapest",
        "subsidy_rules": [{"name": "Warga RW 005 gratis", "rws": ["005"], "free": True}]})
    assert changed.status_code == 200, changed.text
    # Mekarjaya's cheapest policy books at once; Siti (RW 005) pays nothing.
    did, _ = _auto(client, demo, outbox)
    delivery = load(did)
    assert delivery.state == "searching_courier"
    assert delivery.price == 0 and delivery.subsidy > 0
    # Abadijaya keeps the deployment default: the resident chooses.
    other = client.get("/api/v1/admin/delivery-policy",
                       headers=demo.headers("admin.abadijaya")).json()
    assert other["effective"]["choice_policy"] == "resident"


def _auto(client, demo, outbox):
    from tests.delivery.conftest import ask_delivery, finished_request

    rid = finished_request()
    created = ask_delivery(client, demo, rid)
    outbox()
    return created["id"], rid
