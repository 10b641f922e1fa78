"""The choice when a document is finished: pickup, delivery through the port the delivery
package implements, or the digital copy where the service allows it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.errors import ServiceUnavailable, ValidationFailed
from core.models import DocumentRequest, HandoverMethod, User
from core.requests import handover
from core.requests.handover import DeliveryDestination
from tests.core.request_helpers import (
    BIRTH,
    DOMICILE,
    SITI,
    api,
    finished_request,
    ok,
)


@dataclass
class RecordingPort:
    """A stand-in for delivery/: records what core asks; ``booked`` simulates a courier."""

    booked: bool = False
    started: list[DeliveryDestination] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def start(self, session: Session, request: DocumentRequest,
              destination: DeliveryDestination, *, actor: User) -> None:
        self.started.append(destination)

    def can_change(self, session: Session, request: DocumentRequest) -> bool:
        return not self.booked

    def cancel(self, session: Session, request: DocumentRequest, *, actor: User | None,
               reason: str) -> None:
        self.cancelled.append(reason)


def choose_delivery(rid: str, **where: object) -> dict:
    """Home delivery is chosen through ``handover.choose`` (behind ``POST /api/v1/deliveries``
    in the delivery package); core's own door answers ``use_deliveries``."""
    with unit_of_work() as s:
        siti = s.scalar(select(User).where(User.phone == SITI))
        assert siti is not None
        chosen = handover.choose(s, siti, uuid.UUID(rid), HandoverMethod.delivery,
                                 **where)  # type: ignore[arg-type]
        return {"state": str(chosen.state), "handover_method": str(chosen.handover_method)}


@pytest.fixture
def port(app):  # after the app, which plugs the real delivery package in
    previous = handover.delivery_port()
    recording = RecordingPort()
    handover.register_delivery_port(recording)
    yield recording
    handover.register_delivery_port(previous)


@pytest.fixture
def no_port(app):  # core alone, as when no delivery package is installed
    previous = handover.delivery_port()
    handover.register_delivery_port(None)
    yield
    handover.register_delivery_port(previous)


def test_delivery_without_a_port_is_a_clear_503(client, demo, no_port):
    rid = finished_request(client, demo)["id"]
    siti = demo.headers(SITI)
    with pytest.raises(ServiceUnavailable) as refused:
        choose_delivery(rid)
    assert "ambil di kantor" in refused.value.message
    assert ok(client.get(api(f"/requests/{rid}"), headers=siti))["state"] == "finished"


def test_delivery_goes_through_the_port_and_can_change_until_booked(client, demo, port):
    rid = finished_request(client, demo)["id"]
    siti = demo.headers(SITI)
    chosen = choose_delivery(rid, note="Pagar hijau")
    assert chosen["state"] == "handover_pending" and chosen["handover_method"] == "delivery"
    destination = port.started[0]
    assert destination.recipient_phone == SITI and destination.address == "Jl. Kenanga No. 5"
    assert (destination.lat, destination.lng) == (-6.3952, 106.8461)
    assert destination.note == "Pagar hijau"
    assert client.get(api(f"/requests/{rid}/pickup"), headers=siti).status_code == 404

    # Not booked yet: back to pickup, the port cancels its delivery.
    back = ok(client.post(api(f"/requests/{rid}/handover"), headers=siti,
                          json={"method": "pickup"}))
    assert back["handover_method"] == "pickup" and port.cancelled
    assert ok(client.get(api(f"/requests/{rid}/pickup"), headers=siti))["pickup_code"]

    # Delivery again, then a courier is booked: no more changes.
    choose_delivery(rid)
    assert client.get(api(f"/requests/{rid}/pickup"), headers=siti).status_code == 404
    port.booked = True
    locked = client.post(api(f"/requests/{rid}/handover"), headers=siti,
                         json={"method": "pickup"})
    assert locked.status_code == 409
    assert ok(client.get(api(f"/requests/{rid}"), headers=siti))["handover_method"] == \
        "delivery"


def test_delivery_hooks_move_the_request_to_delivered_and_completed(client, demo, port):
    rid = finished_request(client, demo)["id"]
    choose_delivery(rid)
    with unit_of_work() as s:
        handover.mark_delivered(s, rid, note="PIN benar")
        handover.mark_delivered(s, rid)  # a repeated event changes nothing
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed), unit_of_work() as s:
        handover.complete_delivery(s, rid, originals_checked=["kk"])
    with unit_of_work() as s:
        done = handover.complete_delivery(
            s, rid, originals_checked=["surat_lahir", "kk", "ktp", "buku_nikah"])
        assert done.state == "completed"
    history = ok(client.get(api(f"/requests/{rid}/history"), headers=demo.headers(SITI)))
    assert [h["to_state"] for h in history if h["to_state"]][-3:] == [
        "handover_pending", "delivered", "completed"]


def test_a_failed_delivery_returns_to_office_pickup(client, demo, port):
    rid = finished_request(client, demo)["id"]
    siti = demo.headers(SITI)
    choose_delivery(rid)
    with unit_of_work() as s:
        handover.return_to_office(s, rid, note="Penerima tidak di tempat")
    pickup = ok(client.get(api(f"/requests/{rid}/pickup"), headers=siti))
    assert len(pickup["pickup_code"]) == 6


def test_counter_only_and_undeliverable_services_refuse_delivery(client, demo, port):
    ok(client.patch(api(f"/catalog/services/{BIRTH}"), headers=demo.headers("admin.mekarjaya"),
                    json={"deliverable": False}))
    rid = finished_request(client, demo)["id"]
    with pytest.raises(ValidationFailed):
        choose_delivery(rid)
    assert not port.started


def test_handover_choice_only_when_finished(client, demo, port):
    from tests.core.request_helpers import submitted_request

    rid = submitted_request(client, demo.headers(SITI))["id"]
    early = client.post(api(f"/requests/{rid}/handover"), headers=demo.headers(SITI),
                        json={"method": "pickup"})
    assert early.status_code == 409
    bad = client.post(api(f"/requests/{rid}/handover"), headers=demo.headers(SITI),
                      json={"method": "drone"})
    assert bad.status_code == 422


def test_digital_copy_where_the_service_offers_it(client, demo):
    siti = demo.headers(SITI)
    rid = finished_request(client, demo, service=DOMICILE)["id"]
    signed = next(u for u in ok(client.get(api(f"/requests/{rid}"), headers=siti))["uploads"]
                  if u["kind"] == "signed_document")
    copy = client.get(api(f"/requests/{rid}/uploads/{signed['id']}"), headers=siti)
    assert copy.status_code == 200 and copy.headers["content-type"] == "application/pdf"
    assert copy.content.startswith(b"%PDF")
    done = ok(client.post(api(f"/requests/{rid}/handover"), headers=siti,
                          json={"method": "digital"}))
    assert done["state"] == "completed" and done["handover_method"] == "digital"

    # A service without a digital copy keeps its signed scan for the office only.
    rid2 = finished_request(client, demo, service=BIRTH)["id"]
    signed2 = next(u for u in ok(client.get(api(f"/requests/{rid2}"), headers=siti))["uploads"]
                   if u["kind"] == "signed_document")
    assert client.get(api(f"/requests/{rid2}/uploads/{signed2['id']}"),
                      headers=siti).status_code == 404
    assert client.post(api(f"/requests/{rid2}/handover"), headers=siti,
                       json={"method": "digital"}).status_code == 422


def test_delivery_has_one_door_and_core_points_at_it(client, demo, port):
    """``POST /requests/{id}/handover`` chooses pickup or the digital copy; home delivery is
    ``POST /api/v1/deliveries`` only, and the old way says so instead of starting one."""
    rid = finished_request(client, demo)["id"]
    siti = demo.headers(SITI)
    refused = client.post(api(f"/requests/{rid}/handover"), headers=siti,
                          json={"method": "delivery", "address": "Jl. Kenanga No. 5"})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "use_deliveries" and "/api/v1/deliveries" in error["message"]
    assert error["details"]["use"] == "POST /api/v1/deliveries"
    assert not port.started
    assert ok(client.get(api(f"/requests/{rid}"), headers=siti))["state"] == "finished"
