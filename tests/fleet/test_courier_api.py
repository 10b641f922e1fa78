"""The courier API and the fleet's offer flow, booked through the in-house adapter (SQLite and
PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.db import unit_of_work, utcnow
from core.models import Notification
from fleet import hooks, service
from fleet.models import InhouseJob, InhouseOffer, OfferStatus
from fleet.statuses import JobStatus
from providers.inhouse import mapping
from providers.inhouse.adapter import InhouseAdapter
from providers.status import DeliveryStatus
from providers.types import Coordinates
from tests.fleet.helpers import (
    CONFIG,
    book_job,
    make_courier,
    set_demo_courier_duty,
)
from tests.providers.contract import OFFICE
from tests.web.helpers import sign_in_as

S = DeliveryStatus
NEAR = Coordinates(lat=-6.3930, lng=106.8425)  # ~80 m from the office
FAR = Coordinates(lat=-6.4100, lng=106.8600)  # ~2.7 km


def offers(client, headers) -> list[dict]:
    response = client.get("/api/v1/courier/offers", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_only_couriers_reach_the_courier_api(client, demo) -> None:
    assert client.get("/api/v1/courier/me").status_code == 401
    for key in ("operator.mekarjaya", "+6281234560001", "admin.mekarjaya"):
        assert client.get("/api/v1/courier/offers", headers=demo.headers(key)).status_code == 403
    me = client.get("/api/v1/courier/me", headers=demo.headers("kurir.mekarjaya"))
    assert me.status_code == 200 and me.json()["on_duty"] is True  # demo couriers start on duty


def test_duty_and_position(client, demo) -> None:
    headers = demo.headers("kurir.mekarjaya")
    off = client.put("/api/v1/courier/me/duty", json={"on_duty": False}, headers=headers)
    assert off.status_code == 200 and off.json()["on_duty"] is False
    moved = client.put("/api/v1/courier/me/position", json={"lat": -6.40, "lng": 106.85},
                       headers=headers)
    assert moved.json()["lat"] == -6.40 and moved.json()["position_at"]
    bad = client.put("/api/v1/courier/me/position", json={"lat": 40, "lng": 106.85},
                     headers=headers)
    assert bad.status_code == 422


def test_offer_goes_to_the_nearest_on_duty_courier(client, demo) -> None:
    set_demo_courier_duty(False)
    make_courier("kurir.jauh", at=FAR)
    make_courier("kurir.dekat", at=NEAR)
    make_courier("kurir.libur", at=OFFICE, on_duty=False)
    make_courier("kurir.abadi", office="abadijaya", at=OFFICE)
    booking = book_job()
    assert booking.status is S.searching_courier
    [offer] = offers(client, demo.headers("kurir.dekat"))
    assert offer["job_id"] == booking.provider_order_id
    assert "Siti" not in str(offer)  # before accepting, only the area
    for other in ("kurir.jauh", "kurir.libur", "kurir.abadi", "kurir.mekarjaya"):
        assert offers(client, demo.headers(other)) == []
    with unit_of_work() as s:
        note = s.scalar(select(Notification).where(Notification.kind == "courier_offer"))
        assert note is not None and "Siti" not in note.text


def test_accept_then_report_to_delivered(client, demo) -> None:
    headers = demo.headers("kurir.mekarjaya")
    booking = book_job()
    [offer] = offers(client, headers)
    job = client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=headers)
    assert job.status_code == 200, job.text
    assert job.json()["status"] == "courier_assigned"
    assert job.json()["dropoff"]["name"] == "Siti Aminah"  # now the courier needs it
    assert job.json()["allowed_next"] == ["at_pickup", "picked_up"]
    job_id = job.json()["id"]
    skipped = client.post(f"/api/v1/courier/jobs/{job_id}/status", json={"status": "delivered"},
                          headers=headers)
    assert skipped.status_code == 409
    assert skipped.json()["error"]["details"]["allowed"] == ["at_pickup", "picked_up"]
    for status in ("at_pickup", "picked_up", "in_transit", "at_dropoff"):
        r = client.post(f"/api/v1/courier/jobs/{job_id}/status",
                        json={"status": status, "lat": -6.394, "lng": 106.844}, headers=headers)
        assert r.status_code == 200, r.text
    done = client.post(f"/api/v1/courier/jobs/{job_id}/status",
                       json={"status": "delivered", "proof_url": "/uploads/proof/1.jpg"},
                       headers=headers)
    assert done.json()["status"] == "delivered"
    update_ = InhouseAdapter(CONFIG).get_status(booking.provider_order_id)
    assert update_.status is S.delivered
    assert update_.position == Coordinates(lat=-6.394, lng=106.844)
    assert update_.proof_urls == ("/uploads/proof/1.jpg",)
    assert update_.courier is not None and update_.courier.name == "Budi Kurir"
    mine = client.get("/api/v1/courier/jobs", headers=headers).json()
    assert [j["id"] for j in mine] == [job_id]


def test_a_courier_sees_only_their_own_jobs_and_offers(client, demo) -> None:
    book_job()
    owner = demo.headers("kurir.mekarjaya")
    [offer] = offers(client, owner)
    make_courier("kurir.lain", at=NEAR)
    other = demo.headers("kurir.lain")
    assert client.post(f"/api/v1/courier/offers/{offer['id']}/accept",
                       headers=other).status_code == 404
    job_id = client.post(f"/api/v1/courier/offers/{offer['id']}/accept",
                         headers=owner).json()["id"]
    assert client.get(f"/api/v1/courier/jobs/{job_id}", headers=other).status_code == 404
    assert client.post(f"/api/v1/courier/jobs/{job_id}/status", json={"status": "at_pickup"},
                       headers=other).status_code == 404
    assert client.get(f"/api/v1/courier/jobs/{uuid.uuid4()}", headers=owner).status_code == 404


def test_decline_moves_the_offer_to_the_next_courier(client, demo) -> None:
    make_courier("kurir.kedua", at=FAR)
    book_job()
    first = demo.headers("kurir.mekarjaya")  # at the office: nearest
    [offer] = offers(client, first)
    declined = client.post(f"/api/v1/courier/offers/{offer['id']}/decline", headers=first)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    [second] = offers(client, demo.headers("kurir.kedua"))
    assert second["job_id"] == offer["job_id"]
    again = client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=first)
    assert again.status_code == 409


def test_expired_offer_is_swept_to_the_next_courier(client, demo, outbox) -> None:
    from workers.fleet_tasks import sweep_offers

    make_courier("kurir.cadangan", at=FAR)
    booking = book_job()
    [offer] = offers(client, demo.headers("kurir.mekarjaya"))
    with unit_of_work() as s:  # the time switch: the offer's deadline has passed
        s.execute(update(InhouseOffer).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert offers(client, demo.headers("kurir.mekarjaya")) == []
    counts = sweep_offers.run()
    assert counts["expired_offers"] == 1 and counts["offered"] == 1
    [second] = offers(client, demo.headers("kurir.cadangan"))
    assert second["job_id"] == booking.provider_order_id
    late = client.post(f"/api/v1/courier/offers/{offer['id']}/accept",
                       headers=demo.headers("kurir.mekarjaya"))
    assert late.status_code == 409


def test_nobody_accepting_ends_in_no_courier(client, demo) -> None:
    from workers.fleet_tasks import sweep_offers

    booking = book_job()
    with unit_of_work() as s:
        s.execute(update(InhouseJob).values(search_deadline=utcnow() - timedelta(seconds=1)))
    assert sweep_offers.run()["no_courier"] == 1
    status = InhouseAdapter(CONFIG).get_status(booking.provider_order_id)
    assert status.status is S.no_courier and status.failure_reason
    with unit_of_work() as s:
        assert s.scalar(select(InhouseOffer.status)) == OfferStatus.withdrawn
    assert offers(client, demo.headers("kurir.mekarjaya")) == []


def test_a_courier_coming_on_duty_gets_the_waiting_job(client, demo) -> None:
    set_demo_courier_duty(False)
    booking = book_job()
    headers = demo.headers("kurir.mekarjaya")
    assert offers(client, headers) == []
    client.put("/api/v1/courier/me/duty", json={"on_duty": True}, headers=headers)
    [offer] = offers(client, headers)
    assert offer["job_id"] == booking.provider_order_id


def test_failed_dropoff_returns_to_the_office(client, demo) -> None:
    headers = demo.headers("kurir.mekarjaya")
    booking = book_job()
    [offer] = offers(client, headers)
    job_id = client.post(f"/api/v1/courier/offers/{offer['id']}/accept",
                         headers=headers).json()["id"]
    for status in ("picked_up", "at_dropoff"):
        client.post(f"/api/v1/courier/jobs/{job_id}/status", json={"status": status},
                    headers=headers)
    back = client.post(f"/api/v1/courier/jobs/{job_id}/status",
                       json={"status": "returning", "note": "Rumah kosong"}, headers=headers)
    assert back.json()["failure_reason"] == "Rumah kosong"
    client.post(f"/api/v1/courier/jobs/{job_id}/status", json={"status": "returned"},
                headers=headers)
    final = InhouseAdapter(CONFIG).get_status(booking.provider_order_id)
    assert final.status is S.returned and final.failure_reason == "Rumah kosong"


def test_cancel_withdraws_the_offer_and_tells_the_courier(client, demo) -> None:
    headers = demo.headers("kurir.mekarjaya")
    booking = book_job()
    [offer] = offers(client, headers)
    client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=headers)
    InhouseAdapter(CONFIG).cancel(booking.provider_order_id, reason="warga ambil sendiri")
    job = client.get(f"/api/v1/courier/jobs/{booking.provider_order_id}", headers=headers)
    assert job.json()["status"] == "cancelled" and job.json()["allowed_next"] == []
    with unit_of_work() as s:
        kinds = set(s.scalars(select(Notification.kind)))
    assert "courier_job_cancelled" in kinds


@pytest.fixture
def listener():
    seen: list = []
    previous = hooks.status_listener()  # the delivery package's, when the app installed it
    hooks.set_status_listener(lambda session, update: seen.append(update))
    yield seen
    hooks.set_status_listener(previous)


def test_status_changes_reach_the_status_listener(client, demo, listener) -> None:
    headers = demo.headers("kurir.mekarjaya")
    booking = book_job()
    [offer] = offers(client, headers)
    client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=headers)
    client.post(f"/api/v1/courier/jobs/{booking.provider_order_id}/status",
                json={"status": "at_pickup"}, headers=headers)
    J = JobStatus
    assert [u.status for u in listener] == [J.searching_courier, J.courier_assigned, J.at_pickup]
    assert all(u.reference == booking.reference for u in listener)
    assert len({u.event_id for u in listener}) == 3
    assert listener[0].courier_name is None and listener[-1].courier_name == "Budi Kurir"
    # In the provider's words, as the delivery side receives them:
    updates = [mapping.to_update(u) for u in listener]
    assert [u.status for u in updates] == [S.searching_courier, S.courier_assigned, S.at_pickup]
    assert {u.provider for u in updates} == {"inhouse"}
    assert updates[-1].courier is not None and updates[0].courier is None
    latest = InhouseAdapter(CONFIG).get_status(booking.provider_order_id)
    assert latest == updates[-1]


def test_the_listener_runs_in_the_same_transaction(client, demo) -> None:
    headers = demo.headers("kurir.mekarjaya")
    booking = book_job()
    [offer] = offers(client, headers)
    client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=headers)

    def failing_listener(session, update) -> None:
        raise RuntimeError("delivery side is broken")

    previous = hooks.status_listener()
    hooks.set_status_listener(failing_listener)
    try:
        r = client.post(f"/api/v1/courier/jobs/{booking.provider_order_id}/status",
                        json={"status": "at_pickup"}, headers=headers)
    finally:
        hooks.set_status_listener(previous)
    assert r.status_code == 500
    assert InhouseAdapter(CONFIG).get_status(booking.provider_order_id).status is \
        S.courier_assigned  # rolled back together


def test_going_off_duty_passes_pending_offers_on(client, demo) -> None:
    make_courier("kurir.siaga", at=FAR)
    booking = book_job()
    headers = demo.headers("kurir.mekarjaya")
    [offer] = offers(client, headers)
    client.put("/api/v1/courier/me/duty", json={"on_duty": False}, headers=headers)
    assert offers(client, headers) == []
    [passed_on] = offers(client, demo.headers("kurir.siaga"))
    assert passed_on["job_id"] == booking.provider_order_id != offer["id"]


def test_a_job_stored_with_a_nik_is_shown_without_it(client, demo) -> None:
    """Whatever a stored job holds (a row from before the scrubbing, any other writer), the
    courier's API and pages show it with NIK-like numbers removed."""
    booking = book_job()
    with unit_of_work() as session:
        job = service.job_by_id(session, booking.provider_order_id)
        job.pickup = {**job.pickup, "address": "Kantor, NIK 3276.0112.0385.0002"}
        job.dropoff = {**job.dropoff, "address": "Jl. Kenanga 5, NIK 3276 0112 0385 0002",
                       "note": "KK 3175-0945-0190-0003", "name": "Siti 3276011203850002"}
    headers = demo.headers("kurir.mekarjaya")
    [offer] = offers(client, headers)
    assert offer["dropoff_address"] == "Jl. Kenanga 5, NIK [dihapus]"
    assert offer["pickup_address"] == "Kantor, NIK [dihapus]"
    sign_in_as(client, "kurir.mekarjaya")
    home = client.get("/kurir")
    assert "Jl. Kenanga 5, NIK [dihapus]" in home.text and "0385" not in home.text

    job = client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=headers).json()
    assert job["dropoff"]["address"] == "Jl. Kenanga 5, NIK [dihapus]"
    assert (job["dropoff"]["note"], job["dropoff"]["name"]) == ("KK [dihapus]", "Siti [dihapus]")
    assert job["pickup"]["address"] == "Kantor, NIK [dihapus]"
    page = client.get(f"/kurir/tugas/{job['id']}")
    assert page.status_code == 200 and "KK [dihapus]" in page.text and "0385" not in page.text
