"""An in-house courier cannot finish a delivery on their own word: the resident's PIN (on the
envelope's handover page) or an operator's recorded exception must come first."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from core.db import unit_of_work
from core.models import AuditEvent, DocumentRequest
from fleet.models import InhouseJob
from tests.delivery.conftest import load
from tests.delivery.helpers import OPERATOR, envelope, inhouse_at_the_door, set_known_pin
from tests.web.helpers import csrf_of, sign_in_as


def _job_status(job_id: str) -> str:
    with unit_of_work() as s:
        job = s.get(InhouseJob, uuid.UUID(job_id))
        assert job is not None
        return job.status


def test_delivered_without_the_pin_is_refused_and_changes_nothing(
        client, demo, providers_env, inhouse_on, installed, outbox):
    did, rid, job = inhouse_at_the_door(client, demo, outbox, originals=False)
    courier = demo.headers("kurir.mekarjaya")
    refused = client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                          json={"status": "delivered"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "pin_required"
    assert load(did).state == "in_transit" and load(did).alert is None
    assert _job_status(job["id"]) == "at_dropoff"
    with unit_of_work() as s:
        assert s.get(DocumentRequest, rid).state == "handover_pending"

    # With the PIN on the envelope's page, the courier may then report the job done.
    pin = set_known_pin(did)
    token = envelope(client, demo, did)
    assert client.post(f"/api/v1/handover/{token}/pin", json={"pin": pin}).status_code == 200
    done = client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                       json={"status": "delivered"})
    assert done.status_code == 200, done.text
    assert load(did).state == "completed"


def test_only_an_operator_exception_with_a_reason_closes_without_the_pin(
        client, demo, providers_env, inhouse_on, installed, outbox):
    did, _rid, job = inhouse_at_the_door(client, demo, outbox, originals=False)
    operator = demo.headers(OPERATOR)
    url = f"/api/v1/operator/deliveries/{did}/close-without-pin"
    assert client.post(url, headers=operator, json={"reason": "ok"}).status_code == 422
    # Not for the courier, nor the resident.
    assert client.post(url, headers=demo.headers("kurir.mekarjaya"),
                       json={"reason": "Warga konfirmasi lewat telepon"}).status_code == 403
    closed = client.post(url, headers=operator,
                         json={"reason": "Warga konfirmasi lewat telepon, PIN hilang"})
    assert closed.status_code == 200, closed.text
    assert load(did).state == "completed" and load(did).pin_waived_at is not None
    timeline = client.get(f"/api/v1/operator/deliveries/{did}", headers=operator).json()
    waived = [i for i in timeline["timeline"] if i.get("action") == "delivery.pin_waived"]
    assert waived and waived[0]["note"] == "Warga konfirmasi lewat telepon, PIN hilang"
    with unit_of_work() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "delivery.pin_waived"))
    # The courier's report is accepted now, and a second exception is refused.
    courier = demo.headers("kurir.mekarjaya")
    assert client.post(f"/api/v1/courier/jobs/{job['id']}/status", headers=courier,
                       json={"status": "delivered"}).status_code == 200
    assert client.post(url, headers=operator,
                       json={"reason": "Sekali lagi, tanpa alasan baru"}).status_code == 409


def test_the_operator_page_offers_the_exception_and_asks_for_a_reason(
        client, demo, providers_env, inhouse_on, installed, outbox):
    did, _rid, _job = inhouse_at_the_door(client, demo, outbox, originals=False)
    sign_in_as(client, OPERATOR)
    page = client.get(f"/operator/pengantaran/{did}")
    assert 'id="close-without-pin"' in page.text
    short = client.post(f"/operator/pengantaran/{did}/tanpa-pin",
                        data={"csrf_token": csrf_of(page.text), "reason": "lupa"})
    assert short.status_code == 409 and "minimal 10 karakter" in short.text
    assert load(did).pin_waived_at is None
    done = client.post(f"/operator/pengantaran/{did}/tanpa-pin",
                       data={"csrf_token": csrf_of(page.text),
                             "reason": "Warga konfirmasi lewat telepon"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert load(did).state == "completed"
    assert 'id="close-without-pin"' not in client.get(f"/operator/pengantaran/{did}").text
