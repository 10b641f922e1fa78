"""The whole path through the API: a resident registers, requests a document, the operator
processes it, and the resident picks it up at the counter; and a service that needs a cover
letter passes through the RW admin first. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from core.db import unit_of_work
from core.models import AuditEvent, Notification, UploadAccess
from tests.core.request_helpers import (
    BIRTH,
    BIRTH_FIELDS,
    BIRTH_SCANS,
    DOMICILE,
    PDF,
    SITI,
    api,
    ok,
    submitted_request,
    upload,
)

REGISTRATION = {
    "office": "mekarjaya", "nik": "3276010101950005", "full_name": "Rudi Hartono",
    "phone": "0812-9988-0001", "address": "Jl. Dahlia No. 3", "rt": "2", "rw": "7",
}
PHONE = "+6281299880001"


def _kinds(phone: str) -> list[str]:
    with unit_of_work() as s:
        return list(s.scalars(select(Notification.kind).where(Notification.recipient == phone)
                              .order_by(Notification.created_at)))


def test_resident_from_registration_to_counter_pickup(client, demo, read_otp):
    ok(client.post(api("/auth/register"), json=REGISTRATION), 201)
    token = ok(client.post(api("/auth/otp/verify"),
                           json={"phone": PHONE, "code": read_otp(PHONE)}))["access_token"]
    me = {"Authorization": f"Bearer {token}"}
    op = demo.headers("operator.mekarjaya")

    # Information first: the public catalog says what to bring.
    info = ok(client.get(api(f"/offices/mekarjaya/services/{BIRTH}")))
    assert info["online"] and not info["needs_cover_letter"]

    created = ok(client.post(api("/requests"), headers=me,
                             json={"service": BIRTH, "fields": BIRTH_FIELDS}), 201)
    rid = created["id"]
    assert created["state"] == "draft"
    for code in BIRTH_SCANS:
        ok(upload(client, me, rid, code), 201)
    assert ok(client.post(api(f"/requests/{rid}/submit"), headers=me))["state"] == "submitted"

    # The operator finds it in the queue, takes it, and asks for a better scan.
    queue = ok(client.get(api("/operator/requests"), headers=op, params={"state": "submitted"}))
    assert [r["id"] for r in queue] == [rid]
    assert ok(client.post(api(f"/operator/requests/{rid}/assign"), headers=op))["state"] \
        == "verifying"
    scan = ok(client.get(api(f"/requests/{rid}"), headers=op))["uploads"][0]
    inline = client.get(api(f"/requests/{rid}/uploads/{scan['id']}"), headers=op)
    assert inline.status_code == 200 and inline.headers["content-type"] == "image/png"
    assert inline.headers["content-disposition"].startswith("inline")
    assert inline.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in inline.headers["content-security-policy"]
    assert inline.content.startswith(b"\x89PNG")
    revised = ok(client.post(api(f"/operator/requests/{rid}/revision"), headers=op,
                             json={"note": "Foto KK buram, mohon unggah ulang."}))
    assert revised["state"] == "needs_revision"
    assert ok(client.get(api(f"/requests/{rid}"), headers=me))["revision_note"] == \
        "Foto KK buram, mohon unggah ulang."

    # The resident uploads again and resubmits; the operator processes and finishes.
    ok(upload(client, me, rid, "kk"), 201)
    assert ok(client.post(api(f"/requests/{rid}/submit"), headers=me))["state"] == "verifying"
    ok(client.post(api(f"/operator/requests/{rid}/processing"), headers=op))
    finished = ok(client.post(api(f"/operator/requests/{rid}/finish"), headers=op,
                              files={"file": ("signed.pdf", PDF, "application/pdf")}))
    assert finished["state"] == "finished" and finished["verification_code"]

    # The resident chooses pickup and gets a code, a QR, the hours and the originals to bring.
    chosen = ok(client.post(api(f"/requests/{rid}/handover"), headers=me,
                            json={"method": "pickup"}))
    assert chosen["state"] == "handover_pending"
    pickup = ok(client.get(api(f"/requests/{rid}/pickup"), headers=me))
    assert pickup["office_hours"]["mon"] == ["08:00", "15:00"]
    assert "Kartu Keluarga" in pickup["originals"]
    qr = client.get(pickup["qr_svg_url"], headers=me)
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in qr.content

    # At the counter: a wrong code is refused, missing originals are refused, then done.
    wrong = client.post(api(f"/operator/requests/{rid}/counter-handover"), headers=op,
                        json={"pickup_code": "000000" if pickup["pickup_code"] != "000000"
                              else "111111", "originals_checked": []})
    assert wrong.status_code == 422, wrong.text
    partial = client.post(api(f"/operator/requests/{rid}/counter-handover"), headers=op,
                          json={"pickup_code": pickup["pickup_code"],
                                "originals_checked": ["kk"]})
    assert partial.status_code == 422
    assert set(partial.json()["error"]["details"]["missing"]) == {"surat_lahir", "ktp",
                                                                  "buku_nikah"}
    done = ok(client.post(api(f"/operator/requests/{rid}/counter-handover"), headers=op,
                          json={"pickup_code": pickup["pickup_code"],
                                "originals_checked": ["surat_lahir", "kk", "ktp",
                                                      "buku_nikah"]}))
    assert done["state"] == "completed"

    # Every step is in the audit log (who, from, to) and the resident heard about each one.
    history = ok(client.get(api(f"/requests/{rid}/history"), headers=me))
    steps = [(h["from_state"], h["to_state"]) for h in history if h["to_state"]]
    assert steps == [
        (None, "draft"), ("draft", "submitted"), ("submitted", "verifying"),
        ("verifying", "needs_revision"), ("needs_revision", "verifying"),
        ("verifying", "processing"), ("processing", "finished"),
        ("finished", "handover_pending"), ("handover_pending", "picked_up"),
        ("picked_up", "completed"),
    ]
    with unit_of_work() as s:
        # Staff views of a scan are in the access record, not in the request's story.
        viewed = s.scalars(select(UploadAccess)).all()
        assert [(str(v.request_id), v.actor_role, str(v.upload_id)) for v in viewed] == [
            (rid, "operator", scan["id"])]
        assert not s.scalars(select(AuditEvent).where(
            AuditEvent.action == "request.upload_viewed")).all()
        actors = {e.to_state: e.actor_role for e in s.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == rid, AuditEvent.to_state.is_not(
                None)))}
    assert actors["needs_revision"] == "operator" and actors["verifying"] in ("operator",
                                                                              "resident")
    assert _kinds(PHONE) == [
        "welcome", "otp", "request_submitted", "request_verifying", "request_needs_revision",
        "request_processing",
        "request_finished", "request_pickup_ready", "request_completed"]


def test_cover_letter_passes_through_the_rw_admin(client, demo):
    siti = demo.headers(SITI)
    rw = demo.headers("rw05.mekarjaya")
    request = submitted_request(client, siti, DOMICILE)
    rid = request["id"]
    assert request["state"] == "cover_letter_pending"
    assert request["cover_letter"]["status"] == "pending"

    # The operator cannot take it before the RW decides.
    taken = client.post(api(f"/operator/requests/{rid}/assign"),
                        headers=demo.headers("operator.mekarjaya"))
    assert taken.status_code == 409

    pending = ok(client.get(api("/rw/cover-letters"), headers=rw, params={"status": "pending"}))
    assert [p["request"]["id"] for p in pending] == [rid]
    approved = ok(client.post(api(f"/rw/cover-letters/{rid}/approve"), headers=rw,
                              json={"number": "012/RW05/XI/2026"}))
    assert approved["status"] == "approved" and approved["issued_on"]
    after = ok(client.get(api(f"/requests/{rid}"), headers=siti))
    assert after["state"] == "submitted"
    assert after["cover_letter"]["number"] == "012/RW05/XI/2026"
    again = client.post(api(f"/rw/cover-letters/{rid}/approve"), headers=rw,
                        json={"number": "013"})
    assert again.status_code == 409
    assert "request_cover_letter_approved" in _kinds(SITI)


def test_rw_admin_rejects_with_a_reason(client, demo):
    siti = demo.headers(SITI)
    rid = submitted_request(client, siti, DOMICILE)["id"]
    empty = client.post(api(f"/rw/cover-letters/{rid}/reject"),
                        headers=demo.headers("rw05.mekarjaya"), json={"reason": "  "})
    assert empty.status_code == 422
    rejected = ok(client.post(api(f"/rw/cover-letters/{rid}/reject"),
                              headers=demo.headers("rw05.mekarjaya"),
                              json={"reason": "Belum terdaftar sebagai warga RT 003."}))
    assert rejected["status"] == "rejected"
    after = ok(client.get(api(f"/requests/{rid}"), headers=siti))
    assert after["state"] == "rejected"
    assert after["rejection_reason"] == "Belum terdaftar sebagai warga RT 003."
    assert "request_cover_letter_rejected" in _kinds(SITI)
