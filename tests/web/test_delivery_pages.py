"""Delivery pages through the TestClient (both databases): the resident's delivery form and
tracking, the envelope's handover page, the operators' delivery screens and cost export."""

from __future__ import annotations

import re

from tests.core.request_helpers import SITI, finished_request
from tests.fixtures import RESIDENT_OTHER_OFFICE
from tests.web.helpers import csrf_of, resident_sign_in, sign_in_as


def _finished(client, demo, resident: str) -> str:
    if resident == SITI:
        return finished_request(client, demo, resident)["id"]
    # Another office's request is finished by that office's operator.
    from tests.authz.objects import World, _finished

    return _finished(World(client=client, demo=demo), resident)["id"]


def _delivery(client, demo, resident: str = SITI) -> tuple[str, str]:
    request_id = _finished(client, demo, resident)
    r = client.post("/api/v1/deliveries", headers=demo.headers(resident), json={
        "request_id": request_id, "address": "Jl. Kenanga No. 5, RT 003/RW 005",
        "lat": -6.3952, "lng": 106.8461})
    assert r.status_code == 201, r.text
    return r.json()["id"], request_id


def _envelope_token(client, demo, delivery_id: str) -> str:
    r = client.post(f"/api/v1/operator/deliveries/{delivery_id}/envelope",
                    headers=demo.headers("operator.mekarjaya"))
    assert r.status_code == 201, r.text
    return r.json()["url"].rsplit("/", 1)[-1]


def test_delivery_form_shows_offline_map_and_keeps_typed_address(client, demo, read_otp):
    request_id = finished_request(client, demo, SITI)["id"]
    resident_sign_in(client, SITI, read_otp)
    page = client.get(f"/permohonan/{request_id}/antar")
    assert page.status_code == 200
    # The street map's grid fallback, drawn from coordinates, is always in the page.
    assert 'data-pick="where-form"' in page.text and "<svg" in page.text
    r = client.post(f"/permohonan/{request_id}/antar", data={
        "address": "Jl. Melati 9", "lat": "abc", "lng": "", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    # The pin's fields are hidden: its error is told next to the address.
    assert "Jl. Melati 9" in r.text and "Tentukan titik lokasi di peta." in r.text


def test_choosing_delivery_on_the_page_starts_quoting(client, demo, read_otp):
    request_id = finished_request(client, demo, SITI)["id"]
    resident_sign_in(client, SITI, read_otp)
    page = client.get(f"/permohonan/{request_id}/antar")
    r = client.post(f"/permohonan/{request_id}/antar", data={
        "address": "Jl. Kenanga No. 5", "lat": "-6.3952", "lng": "106.8461",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    quotes = client.get(f"/permohonan/{request_id}/antar")
    assert 'hx-get="/permohonan/' in quotes.text and "Menanyakan ongkos" in quotes.text
    # The resident may still switch back to pickup while no courier is booked.
    assert "Ganti ke ambil di kantor" in quotes.text


def test_tracking_page_shows_state_and_map(client, demo, read_otp):
    _, request_id = _delivery(client, demo)
    resident_sign_in(client, SITI, read_otp)
    page = client.get(f"/permohonan/{request_id}/lacak")
    assert page.status_code == 200
    assert 'id="delivery-state"' in page.text and 'class="map"' in page.text
    live = client.get(f"/permohonan/{request_id}/lacak", headers={"HX-Request": "true"})
    assert "<!doctype" not in live.text.lower() and 'id="delivery-state"' in live.text


def test_handover_page_needs_the_token_and_checks_the_pin_format(client, demo):
    delivery_id, _ = _delivery(client, demo)
    token = _envelope_token(client, demo, delivery_id)
    assert client.get("/antar/not-a-real-token").status_code == 404
    page = client.get(f"/antar/{token}")
    assert page.status_code == 200 and "Serah terima dokumen" in page.text
    assert "Siti Aminah" in page.text and "3276" not in page.text  # never the NIK
    r = client.post(f"/antar/{token}/pin", data={"pin": "12", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and 'id="e-pin"' in r.text


def test_handover_form_without_csrf_is_refused(client, demo):
    delivery_id, _ = _delivery(client, demo)
    token = _envelope_token(client, demo, delivery_id)
    client.get(f"/antar/{token}")
    r = client.post(f"/antar/{token}/ambil", data={"courier_name": "Budi"})
    assert r.status_code == 403


def test_handover_pickup_by_courier_name(client, demo):
    delivery_id, _ = _delivery(client, demo)
    token = _envelope_token(client, demo, delivery_id)
    page = client.get(f"/antar/{token}")
    r = client.post(f"/antar/{token}/ambil", data={"courier_name": "Budi Kurir",
                                                   "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    # Quoting, nobody booked yet: the service refuses and the page says why next to the field.
    assert r.status_code == 422
    assert "tidak sedang menunggu kurir" in r.text


def test_operator_sees_delivery_detail_with_timeline_and_envelope(client, demo):
    delivery_id, _ = _delivery(client, demo)
    sign_in_as(client, "operator.mekarjaya")
    page = client.get(f"/operator/pengantaran/{delivery_id}")
    assert page.status_code == 200 and 'id="delivery-timeline"' in page.text
    r = client.post(f"/operator/pengantaran/{delivery_id}/amplop",
                    data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    url = re.search(r'id="envelope-url">([^<]+)<', r.text).group(1).strip()
    assert "/antar/" in url and 'class="qr"' in r.text
    assert client.get("/antar/" + url.rsplit("/", 1)[-1]).status_code == 200


def test_envelope_label_and_handover_page_never_show_a_nik(client, demo):
    request_id = _finished(client, demo, SITI)
    r = client.post("/api/v1/deliveries", headers=demo.headers(SITI), json={
        "request_id": request_id, "address": "Jl. Kenanga No. 5, NIK 3276 0112 0385 0002",
        "lat": -6.3952, "lng": 106.8461})
    assert r.status_code == 201, r.text
    delivery_id = r.json()["id"]
    sign_in_as(client, "operator.mekarjaya")
    page = client.get(f"/operator/pengantaran/{delivery_id}")
    label = client.post(f"/operator/pengantaran/{delivery_id}/amplop",
                        data={"csrf_token": csrf_of(page.text)})
    assert label.status_code == 200
    assert "Jl. Kenanga No. 5, NIK [dihapus]" in label.text and "0112 0385" not in label.text
    url = re.search(r'id="envelope-url">([^<]+)<', label.text).group(1).strip()
    handover = client.get("/antar/" + url.rsplit("/", 1)[-1])  # what the courier's phone shows
    assert handover.status_code == 200
    assert "Jl. Kenanga No. 5, NIK [dihapus]" in handover.text
    assert "0112 0385" not in handover.text


def test_operator_cancel_needs_a_reason(client, demo):
    delivery_id, _ = _delivery(client, demo)
    sign_in_as(client, "operator.mekarjaya")
    page = client.get(f"/operator/pengantaran/{delivery_id}")
    r = client.post(f"/operator/pengantaran/{delivery_id}/batal",
                    data={"reason": "", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and 'id="f-reason-err"' in r.text
    r = client.post(f"/operator/pengantaran/{delivery_id}/batal",
                    data={"reason": "Pemohon minta ambil", "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Dibatalkan" in client.get(f"/operator/pengantaran/{delivery_id}").text


def test_other_office_delivery_is_404_for_operator(client, demo):
    delivery_id, _ = _delivery(client, demo, RESIDENT_OTHER_OFFICE)
    sign_in_as(client, "operator.mekarjaya")
    assert client.get(f"/operator/pengantaran/{delivery_id}").status_code == 404


def test_provider_health_and_cost_csv(client, demo):
    sign_in_as(client, "operator.mekarjaya")
    health = client.get("/operator/mitra")
    assert health.status_code == 200 and "Sandbox Kurir" in health.text
    csv = client.get("/operator/biaya.csv?bulan=2026-11")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("bulan,penyedia,jumlah_antar")
    assert "biaya-antar-mekarjaya-2026-11.csv" in csv.headers["content-disposition"]


def test_daily_handover_sheet_lists_waiting_documents(client, demo):
    finished_request(client, demo, SITI)
    sign_in_as(client, "operator.mekarjaya")
    sheet = client.get("/operator/serah-terima")
    assert sheet.status_code == 200
    assert "Siti Aminah" in sheet.text and "Tanda tangan penerima" in sheet.text
