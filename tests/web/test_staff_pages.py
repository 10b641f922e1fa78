"""Courier and admin pages through the TestClient (both databases)."""

from __future__ import annotations

from tests.web.helpers import csrf_of, sign_in_as


def test_courier_goes_on_duty_and_sees_offers(client, demo):
    sign_in_as(client, "kurir.mekarjaya")
    page = client.get("/kurir")
    assert page.status_code == 200 and 'id="duty-state"' in page.text
    r = client.post("/kurir/dinas", data={"on_duty": "0", "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Tidak bertugas" in client.get("/kurir").text
    r = client.post("/kurir/dinas", data={"on_duty": "1", "lat": "-6.39", "lng": "106.84",
                                          "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert "Sedang bertugas" in client.get("/kurir").text
    live = client.get("/kurir", headers={"HX-Request": "true"})
    assert "<!doctype" not in live.text.lower() and "Tawaran" in live.text


def test_courier_accepts_offer_and_reports_progress(client, demo):
    from tests.fleet.helpers import offer_to

    offer_id, job_id = offer_to("kurir.mekarjaya")
    sign_in_as(client, "kurir.mekarjaya")
    page = client.get("/kurir")
    assert f"/kurir/tawaran/{offer_id}/terima" in page.text
    r = client.post(f"/kurir/tawaran/{offer_id}/terima", data={"csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/kurir/tugas/{job_id}"
    job = client.get(f"/kurir/tugas/{job_id}")
    assert 'id="nav-link"' in job.text and "google.com/maps/dir" in job.text
    r = client.post(f"/kurir/tugas/{job_id}/status", data={"status": "delivered",
                                                           "csrf_token": csrf_of(job.text)})
    assert r.status_code == 409  # not allowed from courier_assigned: shown, not a crash
    r = client.post(f"/kurir/tugas/{job_id}/status", data={"status": "at_pickup",
                                                           "csrf_token": csrf_of(job.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Di kantor" in client.get(f"/kurir/tugas/{job_id}").text


def test_another_couriers_job_is_404(client, demo):
    from tests.fleet.helpers import job_of

    job_id = job_of(None)
    sign_in_as(client, "kurir.mekarjaya")
    assert client.get(f"/kurir/tugas/{job_id}").status_code == 404


def test_office_profile_errors_keep_typed_values(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/kantor-saya")
    assert page.status_code == 200 and "005: 001, 002" in page.text
    r = client.post("/admin/kantor-saya", data={
        "name": "Kelurahan Mekarjaya Baru", "lat": "99", "lng": "106.84", "rt_rw": "005: 001",
        "open_mon": "08:00", "close_mon": "07:00", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'value="Kelurahan Mekarjaya Baru"' in r.text and 'id="f-lat-err"' in r.text


def test_office_profile_saves_hours_rt_rw_and_pickup_point(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/kantor-saya")
    r = client.post("/admin/kantor-saya", data={
        "name": "Kelurahan Mekarjaya", "address": "Jl. Tole Iskandar No. 1", "lat": "-6.3930",
        "lng": "106.8425", "rt_rw": "005: 001, 002, 003\n002: 001", "open_sat": "08:00",
        "close_sat": "12:00", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    office = client.get("/api/v1/offices/mekarjaya").json()
    assert office["lat"] == -6.393 and office["hours"] == {"sat": ["08:00", "12:00"]}
    assert office["rt_rw"] == {"002": ["001"], "005": ["001", "002", "003"]}


def test_catalog_editor_updates_a_service(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/katalog/domisili")
    assert page.status_code == 200 and 'name="req-0-name" value="KTP-el pemohon"' in page.text
    r = client.post("/admin/katalog/domisili", data={
        "name": "Surat Keterangan Domisili", "processing_days": "2", "fee": "0",
        "online": "1", "deliverable": "1", "needs_cover_letter": "1", "enabled": "1",
        "req-0-code": "ktp", "req-0-name": "KTP-el pemohon", "req-0-upload": "1",
        "req-0-original": "1", "req-1-code": "kk", "req-1-name": "Kartu Keluarga",
        "req-1-upload": "1", "req-1-original": "1",
        "fld-0-name": "keperluan", "fld-0-label": "Keperluan surat", "fld-0-type": "text",
        "fld-0-required": "1", "flow_steps": "Ajukan\nAmbil",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    svc = client.get("/api/v1/offices/mekarjaya/services/domisili").json()
    assert svc["processing_days"] == 2 and svc["flow_steps"] == ["Ajukan", "Ambil"]
    assert svc["digital_copy"] is False  # an unticked box switches the option off


def test_catalog_editor_error_keeps_the_form(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/katalog/baru")
    r = client.post("/admin/katalog/baru", data={
        "code": "Bad Code", "name": "Surat Baru", "processing_days": "1", "fee": "-5",
        "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'value="Surat Baru"' in r.text and 'id="f-code-err"' in r.text
    assert 'id="f-fee-err"' in r.text


def test_admin_creates_a_courier_and_sees_password_errors(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/staf")
    r = client.post("/admin/staf", data={
        "role": "courier", "full_name": "Kurir Dua", "username": "kurir2.mekarjaya",
        "password": "short", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and 'id="f-password-err"' in r.text
    assert 'value="kurir2.mekarjaya"' in r.text and "short" not in r.text
    r = client.post("/admin/staf", data={
        "role": "courier", "full_name": "Kurir Dua", "username": "kurir2.mekarjaya",
        "password": "kurir-dua-password", "phone": "081311110002",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "kurir2.mekarjaya" in client.get("/admin/staf").text


def test_delivery_settings_round_trip(client, demo):
    sign_in_as(client, "admin.mekarjaya")
    page = client.get("/admin/pengantaran")
    assert page.status_code == 200
    r = client.post("/admin/pengantaran", data={
        "choice_policy": "cheapest", "max_distance_m": "15000", "time_budget_min": "60",
        "no_courier_timeout_min": "10", "late_pickup_min": "45", "late_delivery_min": "120",
        "provider_inhouse": "1", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    policy = client.get("/api/v1/admin/delivery-policy",
                        headers=demo.headers("admin.mekarjaya")).json()["effective"]
    assert policy["choice_policy"] == "cheapest" and policy["max_distance_m"] == 15000
    assert policy["enabled_providers"] == ["inhouse"]


def test_operator_cannot_open_admin_pages(client, demo):
    sign_in_as(client, "operator.mekarjaya")
    for path in ("/admin/kantor-saya", "/admin/katalog", "/admin/staf", "/admin/kantor"):
        assert client.get(path).status_code == 403, path


def test_platform_admin_creates_an_office(client, demo):
    sign_in_as(client, "platform")
    page = client.get("/admin/kantor")
    assert "Kelurahan Abadijaya" in page.text
    r = client.post("/admin/kantor", data={
        "slug": "tirtajaya", "name": "Kelurahan Tirtajaya", "region_code": "32.76.04.1005",
        "lat": "-6.40", "lng": "106.83", "rt_rw": "001: 001, 002",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert client.get("/layanan/tirtajaya").status_code == 200
