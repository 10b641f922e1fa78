"""Sign-in, registration, language and CSRF on the pages (both databases)."""

from __future__ import annotations

from tests.fixtures import RESIDENT_A
from tests.web.helpers import csrf_of, resident_sign_in, sign_in_as


def test_home_lists_offices_and_is_indonesian_by_default(client, demo):
    r = client.get("/")
    assert r.status_code == 200
    assert '<html lang="id">' in r.text
    assert "Kelurahan Mekarjaya" in r.text and "Kelurahan Abadijaya" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_language_switch_sets_cookie_and_translates(client, demo):
    r = client.get("/bahasa/en?next=/masuk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/masuk"
    page = client.get("/masuk")
    assert '<html lang="en">' in page.text and "Mobile number" in page.text


def test_language_switch_refuses_open_redirect(client, demo):
    r = client.get("/bahasa/en?next=//evil.example", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_staff_sign_in_sets_httponly_lax_cookie_and_lands_on_role_home(client, demo):
    page = client.get("/masuk")
    r = client.post("/masuk/staf", data={"username": "operator.mekarjaya",
                                         "password": "demo-operator-123",
                                         "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/operator"
    cookie = r.headers["set-cookie"]
    assert "sipoke_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # base_url is http in tests


def test_wrong_password_keeps_username_and_shows_error_next_to_field(client, demo):
    page = client.get("/masuk")
    r = client.post("/masuk/staf", data={"username": "operator.mekarjaya", "password": "nope",
                                         "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'value="operator.mekarjaya"' in r.text
    assert 'id="f-password-err"' in r.text and "kata sandi salah" in r.text
    assert "nope" not in r.text  # the password is never echoed


def test_wrong_password_error_in_english_on_english_page(client, demo):
    client.cookies.set("sipoke_lang", "en")
    page = client.get("/masuk")
    r = client.post("/masuk/staf", data={"username": "operator.mekarjaya", "password": "nope",
                                         "csrf_token": csrf_of(page.text)})
    assert "Wrong username or password." in r.text


def test_anonymous_form_without_csrf_is_refused(client, demo):
    client.get("/masuk")
    r = client.post("/masuk/staf", data={"username": "operator.mekarjaya",
                                         "password": "demo-operator-123"})
    assert r.status_code == 403
    assert "Formulir kedaluwarsa" in r.text
    assert "sipoke_session" not in client.cookies


def test_signed_in_form_without_csrf_is_refused(client, demo):
    sign_in_as(client, "operator.mekarjaya")
    r = client.post("/keluar", data={}, follow_redirects=False)
    assert r.status_code == 403
    page = client.get("/operator", follow_redirects=False)
    assert page.status_code != 303  # still signed in: the forged sign-out did nothing


def test_sign_out_with_csrf_revokes_the_session(client, demo):
    sign_in_as(client, "operator.mekarjaya")
    page = client.get("/")
    r = client.post("/keluar", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    r = client.get("/operator", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/masuk")


def test_resident_signs_in_with_one_time_code(client, demo, read_otp):
    resident_sign_in(client, RESIDENT_A, read_otp)
    r = client.get("/")
    assert "Siti Aminah" in r.text


def test_wrong_code_shows_error_and_keeps_phone(client, demo, read_otp):
    page = client.get("/masuk")
    r = client.post("/masuk/kode", data={"phone": "081234560001",
                                         "csrf_token": csrf_of(page.text)})
    r = client.post("/masuk/verifikasi", data={"phone": RESIDENT_A, "code": "000000",
                                               "csrf_token": csrf_of(r.text)})
    assert r.status_code == 422
    assert 'id="f-code-err"' in r.text
    assert f'value="{RESIDENT_A}"' in r.text


def test_invalid_phone_shows_error_next_to_field(client, demo):
    page = client.get("/masuk")
    r = client.post("/masuk/kode", data={"phone": "12", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'id="f-phone-err"' in r.text and 'value="12"' in r.text


def test_registration_errors_keep_typed_values(client, demo):
    page = client.get("/daftar")
    r = client.post("/daftar", data={
        "office": "mekarjaya", "full_name": "Budi Baru", "nik": "9976011203850002",
        "phone": "081299990001",
        "address": "Jl. Mawar No. 1", "rt": "001", "rw": "005",
        "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'value="Budi Baru"' in r.text and "Jl. Mawar No. 1" in r.text
    assert 'id="f-nik-err"' in r.text and "Kode provinsi pada NIK" in r.text


def test_registration_with_unknown_rt_shows_service_error_on_field(client, demo):
    page = client.get("/daftar")
    r = client.post("/daftar", data={
        "office": "mekarjaya", "full_name": "Budi Baru", "nik": "3276011203850099",
        "phone": "081299990001", "address": "Jl. Mawar No. 1", "rt": "099", "rw": "005",
        "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'id="f-rt-err"' in r.text


def test_registration_then_sign_in_with_code(client, demo, read_otp):
    page = client.get("/daftar")
    r = client.post("/daftar", data={
        "office": "mekarjaya", "full_name": "Budi Baru", "nik": "3276011203850099",
        "phone": "081299990001", "address": "Jl. Mawar No. 1", "rt": "001", "rw": "005",
        "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200, r.text
    assert 'action="/masuk/verifikasi"' in r.text
    code = read_otp("+6281299990001")
    r = client.post("/masuk/verifikasi", data={"phone": "+6281299990001", "code": code,
                                               "csrf_token": csrf_of(r.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/permohonan"


def test_pages_need_sign_in_and_redirect_back(client, demo):
    r = client.get("/operator", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/masuk?next=/operator"


def test_htmx_request_without_session_gets_hx_redirect(client, demo):
    r = client.get("/operator", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.headers.get("hx-redirect", "").startswith("/masuk")


def test_unknown_page_is_html_404_and_api_stays_json(client, demo):
    r = client.get("/tidak-ada")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    r = client.get("/api/v1/tidak-ada")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_static_assets_are_vendored_and_cacheable(client):
    r = client.get("/static/vendor/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:200]
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/static/css/app.css").status_code == 200


def test_error_page_keeps_a_working_sign_out(client, demo):
    sign_in_as(client, "operator.mekarjaya")
    missing = client.get("/operator/permohonan/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    r = client.post("/keluar", data={"csrf_token": csrf_of(missing.text)},
                    follow_redirects=False)
    assert r.status_code == 303
