"""Safe handover: the envelope token, pickup, the PIN (five wrong ones lock), the originals
checklist, the photo, and the operator completing the request."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from core.db import unit_of_work
from core.models import AuditEvent, DocumentRequest, Notification
from delivery.models import HandoverRecord
from tests.core.request_helpers import ELF, png
from tests.delivery.conftest import attempts, load
from tests.delivery.helpers import (
    COURIER,
    OPERATOR,
    advance,
    booked,
    envelope,
    inhouse_at_the_door,
    set_known_pin,
)


def test_pin_lock_after_five_wrong(client, demo, providers_env, installed, outbox):
    did, _rid = booked(client, demo, outbox, originals=False)
    advance(client, providers_env, outbox, did, "ASSIGNED", "PICKED_UP")
    pin = set_known_pin(did)
    token = envelope(client, demo, did)
    wrong = "000000" if pin != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = client.post(f"/api/v1/handover/{token}/pin", json={"pin": wrong})
        assert response.status_code == 422
        assert response.json()["error"]["details"]["attempts_left"] == left
    locked = client.post(f"/api/v1/handover/{token}/pin", json={"pin": wrong})
    assert locked.status_code == 423
    # Even the right PIN is refused once locked.
    assert client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).status_code == 423
    delivery = load(did)
    assert delivery.alert == "pin_locked" and delivery.pin_locked_at is not None
    with unit_of_work() as s:
        assert s.scalar(select(Notification).where(Notification.kind == "delivery_pin_locked"))
        assert len(list(s.scalars(select(AuditEvent).where(
            AuditEvent.action == "delivery.pin_wrong")))) == 5
    # The operator resets it after speaking to the resident; a new PIN is sent.
    reset = client.post(f"/api/v1/operator/deliveries/{did}/reset-pin",
                        headers=demo.headers(OPERATOR))
    assert reset.status_code == 200 and reset.json()["pin_locked"] is False


def test_pin_completes_when_no_originals(client, demo, providers_env, installed, outbox):
    did, rid = booked(client, demo, outbox, originals=False)
    advance(client, providers_env, outbox, did, "ASSIGNED")
    token = envelope(client, demo, did)
    # Not yet with the courier: the PIN cannot be used.
    pin = set_known_pin(did)
    assert client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).status_code == 409
    picked = client.post(f"/api/v1/handover/{token}/pickup", json={"courier_name": "Joko"})
    assert picked.status_code == 200 and picked.json()["state"] == "picked_up"
    done = client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin})
    assert done.status_code == 200, done.text
    assert load(did).state == "completed"
    with unit_of_work() as s:
        request = s.get(DocumentRequest, rid)
        assert request is not None and request.state == "completed"
        kinds = [r.kind for r in s.scalars(select(HandoverRecord))]
    assert kinds == ["office_to_courier", "courier_to_resident"]


def test_originals_come_back_and_the_operator_completes(client, demo, providers_env,
                                                        installed, outbox):
    did, rid = booked(client, demo, outbox, originals=True)
    advance(client, providers_env, outbox, did, "ASSIGNED", "PICKED_UP", "ON_DELIVERY")
    pin = set_known_pin(did)
    token = envelope(client, demo, did)
    view = client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).json()
    assert view["state"] == "delivered" and view["pin_verified"]
    codes = [o["code"] for o in view["originals"]]
    partial = client.post(f"/api/v1/handover/{token}/originals", json={"checked": codes[:1]})
    assert partial.status_code == 422
    assert client.post(f"/api/v1/handover/{token}/originals",
                       json={"checked": codes}).status_code == 200
    assert load(did).state == "returning_originals"
    # The outbound order is still open at the provider: the return leg waits for it.
    assert [a.leg for a in attempts(did)] == ["outbound"]
    advance(client, providers_env, outbox, did, "COMPLETED")
    legs = {a.leg: a for a in attempts(did)}
    assert legs["originals"].status == "active" and legs["originals"].provider == "sandbox"
    operator = demo.headers(OPERATOR)
    incomplete = client.post(f"/api/v1/operator/deliveries/{did}/originals-received",
                             headers=operator, json={"originals_checked": codes[:1]})
    assert incomplete.status_code == 422
    assert load(did).state == "returning_originals"
    done = client.post(f"/api/v1/operator/deliveries/{did}/originals-received",
                       headers=operator, json={"originals_checked": codes})
    assert done.status_code == 200, done.text
    assert load(did).state == "completed"
    with unit_of_work() as s:
        request = s.get(DocumentRequest, rid)
        assert request is not None and request.state == "completed"
        assert sorted(request.originals_checked) == sorted(codes)


def test_envelope_reprint_voids_the_old_token_and_photo_is_checked(client, demo, providers_env,
                                                                   installed, outbox):
    did, _ = booked(client, demo, outbox)
    advance(client, providers_env, outbox, did, "ASSIGNED", "PICKED_UP")
    old = envelope(client, demo, did)
    new = envelope(client, demo, did)
    assert client.get(f"/api/v1/handover/{old}").status_code == 404
    page = client.get(f"/antar/{new}")
    assert page.status_code == 200 and "Serah terima" in page.text
    view = client.get(f"/api/v1/handover/{new}").json()
    assert "nik" not in str(view).lower()
    bad = client.post(f"/api/v1/handover/{new}/photo",
                      files={"file": ("foto.jpg", ELF, "image/jpeg")})
    assert bad.status_code == 415
    good = client.post(f"/api/v1/handover/{new}/photo",
                       files={"file": ("foto.png", png(), "image/png")})
    assert good.status_code == 201, good.text
    assert client.get(f"/api/v1/handover/{uuid.uuid4().hex}").status_code == 404


def test_inhouse_round_trip_brings_the_originals_back_without_a_second_leg(
        client, demo, providers_env, inhouse_on, installed, outbox):
    did, _rid, job = inhouse_at_the_door(client, demo, outbox, originals=True)
    courier = demo.headers(COURIER)
    assert load(did).state == "in_transit"  # in-house changes arrive without webhooks
    pin = set_known_pin(did)
    token = envelope(client, demo, did)
    view = client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).json()
    codes = [o["code"] for o in view["originals"]]
    assert client.post(f"/api/v1/handover/{token}/originals",
                       json={"checked": codes}).status_code == 200
    client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                json={"status": "delivered"})
    outbox()
    assert load(did).state == "returning_originals"
    assert [a.leg for a in attempts(did)] == ["outbound"]  # the same courier brings them
    done = client.post(f"/api/v1/operator/deliveries/{did}/originals-received",
                       headers=demo.headers(OPERATOR), json={"originals_checked": codes})
    assert done.status_code == 200 and load(did).state == "completed"
