"""The in-house courier's job follows its delivery: the envelope's scan, the PIN and the
originals move the job and what it offers, and the job ends when the delivery completes, so
the courier gets the next offer at once (issue 15, item 4)."""

from __future__ import annotations

import uuid

from core.db import unit_of_work
from fleet.models import InhouseJob
from tests.delivery.conftest import SITI, ask_delivery, finished_request, load
from tests.delivery.helpers import COURIER, OPERATOR, envelope, set_known_pin


def _job_status(job_id: str) -> str:
    with unit_of_work() as s:
        job = s.get(InhouseJob, uuid.UUID(job_id))
        assert job is not None
        return job.status


def _accepted(client, demo, outbox, *, originals: bool) -> tuple[str, dict]:
    """(delivery id, job): Siti chose the office's own courier, who accepted the offer and
    reported nothing yet."""
    rid = finished_request(originals=originals)
    created = ask_delivery(client, demo, rid)
    outbox()
    siti = demo.headers(SITI)
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=siti).json()
    own = next(q for q in view["quotes"] if q["provider"] == "inhouse")
    chosen = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
                         json={"quote_id": own["id"]})
    assert chosen.status_code == 200, chosen.text
    outbox()
    courier = demo.headers(COURIER)
    offers = client.get("/api/v1/courier/offers", headers=courier).json()
    assert offers, "the courier got no offer"
    job = client.post(f"/api/v1/courier/offers/{offers[0]['id']}/accept", headers=courier)
    assert job.status_code == 200, job.text
    return created["id"], job.json()


def _job(client, demo, job_id: str) -> dict:
    found = client.get(f"/api/v1/courier/jobs/{job_id}", headers=demo.headers(COURIER))
    assert found.status_code == 200, found.text
    return found.json()


def test_the_job_follows_pickup_pin_and_originals_and_ends_with_the_delivery(
        client, demo, providers_env, inhouse_on, installed, outbox):
    did, job = _accepted(client, demo, outbox, originals=True)
    courier = demo.headers(COURIER)
    token = envelope(client, demo, did)
    assert job["phase"] == "courier_assigned"

    # The envelope's scan at the office: the job says the envelope is with the courier and no
    # longer offers "at the office" or "picked up".
    assert client.post(f"/api/v1/handover/{token}/pickup",
                       json={"courier_name": "Budi Kurir"}).status_code == 200
    assert load(did).state == "picked_up"
    now = _job(client, demo, job["id"])
    assert now["status"] == "picked_up" and now["phase"] == "picked_up"
    assert "at_pickup" not in now["allowed_next"] and "picked_up" not in now["allowed_next"]
    # A report the scan already made is answered with the job as it is, not an error.
    same = client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                       json={"status": "picked_up"})
    assert same.status_code == 200, same.text

    # The PIN at the door: handed over; nothing to report, and no "failed, returning".
    pin = set_known_pin(did)
    assert client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).status_code == 200
    now = _job(client, demo, job["id"])
    assert now["phase"] == "handed_over" and now["allowed_next"] == []
    refused = client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                          json={"status": "returning"})
    assert refused.status_code == 409, refused.text
    assert load(did).state == "delivered"

    # The originals ticked at the door: the courier brings them; they are not at the office.
    originals = [o["code"] for o in load(did).originals]
    taken = client.post(f"/api/v1/handover/{token}/originals", json={"checked": originals})
    assert taken.status_code == 200, taken.text
    view = client.get(f"/api/v1/handover/{token}").json()
    assert view["state"] == "returning_originals"
    now = _job(client, demo, job["id"])
    assert now["phase"] == "bringing_originals" and now["allowed_next"] == []
    active = client.get("/api/v1/courier/jobs?active=true", headers=courier).json()
    assert [j["id"] for j in active] == [job["id"]]

    # The office confirms the originals: the delivery completes and so does the job.
    confirmed = client.post(f"/api/v1/operator/deliveries/{did}/originals-received",
                            headers=demo.headers(OPERATOR),
                            json={"originals_checked": originals})
    assert confirmed.status_code == 200, confirmed.text
    assert load(did).state == "completed"
    assert _job_status(job["id"]) == "delivered"
    assert client.get("/api/v1/courier/jobs?active=true", headers=courier).json() == []
    # The outbound attempt is finished too (nothing left for the poller).
    assert [a.status for a in load(did).attempts if a.leg == "outbound"] == ["done"]

    # The courier is free: the next delivery is offered to them at once.
    _next, second = _accepted(client, demo, outbox, originals=False)
    assert second["id"] != job["id"]


def test_without_originals_the_pin_finishes_the_job(
        client, demo, providers_env, inhouse_on, installed, outbox):
    did, job = _accepted(client, demo, outbox, originals=False)
    token = envelope(client, demo, did)
    assert client.post(f"/api/v1/handover/{token}/pickup",
                       json={"courier_name": "Budi Kurir"}).status_code == 200
    pin = set_known_pin(did)
    assert client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).status_code == 200
    assert load(did).state == "completed"
    assert _job_status(job["id"]) == "delivered"
    courier = demo.headers(COURIER)
    assert client.get("/api/v1/courier/jobs?active=true", headers=courier).json() == []
    # Reporting "delivered" afterwards (an old habit) changes nothing and is no error.
    again = client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                        json={"status": "delivered"})
    assert again.status_code == 200 and again.json()["status"] == "delivered"
