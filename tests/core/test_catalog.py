"""The catalog: a real template, copied per office, public to read, edited by office admins
(audited, scoped to their own office)."""

from __future__ import annotations

from sqlalchemy import select

from core.catalog.template import template_services
from core.db import unit_of_work
from core.models import AuditEvent
from tests.core.request_helpers import api, ok

NEW_OFFICE = {
    "slug": "tirtajaya", "name": "Kelurahan Tirtajaya", "region_code": "32.76.04.1005",
    "lat": -6.40, "lng": 106.83, "rt_rw": {"1": ["1", "2"]},
}


def test_template_has_the_real_services_of_a_depok_kelurahan():
    services = template_services()
    codes = {s["code"] for s in services}
    assert len(services) >= 12
    assert {"pengantar-ktp-el", "pengantar-kk", "pengantar-akta-kelahiran", "domisili",
            "sktm", "sku", "pengantar-skck", "pengantar-nikah", "surat-pindah",
            "ahli-waris", "rekomendasi-pbg"} <= codes
    counter_only = {s["code"] for s in services if not s["online"]}
    assert counter_only == {"ahli-waris", "rekomendasi-pbg"}
    for s in services:
        assert s["legal_basis"] and s["requirements"] and s["flow_steps"], s["code"]
        assert isinstance(s["fee"], int) and s["fee"] >= 0
        assert s["processing_days"] >= 1
        if not s["online"]:
            assert s["counter_note"] and not s["deliverable"]


def test_public_catalog_per_office_without_login(client, demo):
    listed = ok(client.get(api("/offices/mekarjaya/services")))
    assert len(listed) == len(template_services())
    sktm = ok(client.get(api("/offices/abadijaya/services/sktm")))
    assert sktm["needs_cover_letter"] and sktm["fee"] == 0
    assert any(r["code"] == "ktp" and r["original"] for r in sktm["requirements"])
    assert client.get(api("/offices/mekarjaya/services/nope")).status_code == 404
    assert client.get(api("/offices/nowhere/services")).status_code == 404


def test_a_new_office_gets_its_own_copy(client, demo):
    ok(client.post(api("/offices"), headers=demo.headers("platform"), json=NEW_OFFICE), 201)
    services = ok(client.get(api("/offices/tirtajaya/services")))
    assert len(services) == len(template_services())
    # Editing one office's copy leaves the others alone.
    admin = demo.headers("admin.mekarjaya")
    ok(client.patch(api("/catalog/services/sktm"), headers=admin, json={"processing_days": 3}))
    assert ok(client.get(api("/offices/tirtajaya/services/sktm")))["processing_days"] == 2
    assert ok(client.get(api("/offices/mekarjaya/services/sktm")))["processing_days"] == 3


def test_office_admin_edits_enables_and_adds_with_audit(client, demo):
    admin = demo.headers("admin.mekarjaya")
    ok(client.patch(api("/catalog/services/sku"), headers=admin,
                    json={"enabled": False, "fee": 5000}))
    assert client.get(api("/offices/mekarjaya/services/sku")).status_code == 404
    assert all(s["code"] != "sku" for s in ok(client.get(api("/offices/mekarjaya/services"))))
    mine = ok(client.get(api("/catalog/services"), headers=admin))
    assert next(s for s in mine if s["code"] == "sku")["enabled"] is False
    ok(client.patch(api("/catalog/services/sku"), headers=admin, json={"enabled": True}))
    assert ok(client.get(api("/offices/mekarjaya/services/sku")))["fee"] == 5000

    created = ok(client.post(api("/catalog/services"), headers=admin, json={
        "code": "keterangan-janda", "name": "Surat Keterangan Janda/Duda",
        "legal_basis": ["UU No. 24 Tahun 2013"], "requirements": [
            {"code": "ktp", "name": "KTP-el", "upload": True, "original": True}],
        "processing_days": 1, "needs_cover_letter": True}), 201)
    assert created["code"] == "keterangan-janda"
    again = client.post(api("/catalog/services"), headers=admin,
                        json={"code": "keterangan-janda", "name": "Dua kali"})
    assert again.status_code == 409

    with unit_of_work() as s:
        events = list(s.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["catalog.service_updated", "catalog.service_created"]))
            .order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["catalog.service_updated", "catalog.service_updated",
                                          "catalog.service_created"]
    assert events[0].data["before"] == {"enabled": True, "fee": 0}
    assert events[0].data["after"] == {"enabled": False, "fee": 5000}
    assert events[0].actor_role == "office_admin"


def test_catalog_editing_is_for_the_own_office_admin_only(client, demo):
    other_admin = demo.headers("admin.abadijaya")
    ok(client.patch(api("/catalog/services/sktm"), headers=other_admin, json={"fee": 1}))
    assert ok(client.get(api("/offices/mekarjaya/services/sktm")))["fee"] == 0
    for who in ("operator.mekarjaya", "rw05.mekarjaya", "+6281234560001"):
        r = client.patch(api("/catalog/services/sktm"), headers=demo.headers(who),
                         json={"fee": 1})
        assert r.status_code == 403, who
    assert client.patch(api("/catalog/services/sktm"), json={"fee": 1}).status_code == 401
    bad = client.patch(api("/catalog/services/sktm"), headers=demo.headers("admin.mekarjaya"),
                       json={"fee": -5})
    assert bad.status_code == 422
    dup = client.patch(api("/catalog/services/sktm"), headers=demo.headers("admin.mekarjaya"),
                       json={"requirements": [{"code": "a", "name": "aa"},
                                              {"code": "a", "name": "bb"}]})
    assert dup.status_code == 422
