"""Words and forms (issue 15, item 8), through the TestClient: sign-up and code pages, the
RT/RW cover letter shown as issued in the system (also on the counter's checklist), a date
field, and validation messages in the page's language. Both databases."""

from __future__ import annotations

import re

from tests.core.request_helpers import DOMICILE, SITI, api, finished_request, ok
from tests.web.helpers import csrf_of, resident_sign_in, sign_in_as

AT_COUNTER = "Ditunjukkan saat serah terima"


def _requirement(html: str, name: str) -> str:
    """The row of one requirement on a request page."""
    at = html.index(f"<strong>{name}</strong>")
    start = html.rindex("<li", 0, at)
    return html[start:html.index("</li>", at)]


def test_sign_up_and_code_pages_read_right(client, demo):
    register = client.get("/daftar").text
    assert "Masuk? " not in register and "Sudah punya akun?" in register
    page = client.get("/masuk")
    assert 'action="/masuk/staf"' in page.text  # the first step offers both
    code = client.post("/masuk/kode", data={"phone": "081234560001",
                                            "csrf_token": csrf_of(page.text)})
    assert code.status_code == 200 and 'action="/masuk/verifikasi"' in code.text
    assert 'action="/masuk/staf"' not in code.text and "Petugas" not in code.text
    assert "Pakai nomor HP lain" in code.text


def test_cover_letter_is_issued_in_the_system_and_on_the_counter_checklist(
        client, demo, read_otp):
    resident_sign_in(client, SITI, read_otp)
    form = client.get(f"/layanan/mekarjaya/{DOMICILE}/ajukan")
    made = client.post(f"/layanan/mekarjaya/{DOMICILE}/ajukan", data={
        "fields.keperluan": "Buka rekening", "csrf_token": csrf_of(form.text)},
        follow_redirects=False)
    draft = client.get(made.headers["location"]).text
    row = _requirement(draft, "Surat pengantar RT/RW")
    assert "Diterbitkan Ketua RW di sistem" in row and AT_COUNTER not in row
    assert "Tidak perlu diunggah atau dibawa" in row and 'type="file"' not in row

    finished = finished_request(client, demo, SITI, DOMICILE)  # RW 005 approves "7/RW05"
    ok(client.post(api(f"/requests/{finished['id']}/handover"), headers=demo.headers(SITI),
                   json={"method": "pickup"}))
    client.cookies.clear()
    sign_in_as(client, "operator.mekarjaya")
    page = client.get(f"/operator/permohonan/{finished['id']}").text
    row = _requirement(page, "Surat pengantar RT/RW")
    assert "Diterbitkan Ketua RW · No. 7/RW05" in row and AT_COUNTER not in row
    checklist = page[page.index('id="counter-checklist"'):]
    checklist = checklist[:checklist.index("</fieldset>")]
    assert re.search(r'<input type="checkbox" checked disabled> Surat pengantar RT/RW '
                     r'<span class="badge ok letter">Diterbitkan Ketua RW · No\. 7/RW05', checklist)
    assert 'value="ktp"' in checklist and 'value="kk"' in checklist
    sheet = client.get("/operator/serah-terima").text
    assert "Diterbitkan Ketua RW · No. 7/RW05" in sheet


def test_a_date_field_is_a_date_input(client, demo, read_otp):
    resident_sign_in(client, SITI, read_otp)
    page = client.get("/layanan/mekarjaya/pengantar-akta-kelahiran/ajukan")
    assert re.search(r'id="f-fields\.tanggal_lahir" name="fields\.tanggal_lahir" type="date"',
                     page.text)
    bad = client.post("/layanan/mekarjaya/pengantar-akta-kelahiran/ajukan", data={
        "fields.nama_anak": "Putri", "fields.tanggal_lahir": "kemarin",
        "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 422 and "Isi tanggal yang valid (TTTT-BB-HH)." in bad.text
    made = client.post("/layanan/mekarjaya/pengantar-akta-kelahiran/ajukan", data={
        "fields.nama_anak": "Putri", "fields.tanggal_lahir": "2026-11-01",
        "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert made.status_code == 303, made.text
    assert "<dd>01-11-2026</dd>" in client.get(made.headers["location"]).text


def test_validation_messages_follow_the_page_language(client, demo):
    page = client.get("/daftar")
    blank = {"csrf_token": csrf_of(page.text), "office": "mekarjaya", "full_name": "A"}
    indonesian = client.post("/daftar", data=blank).text
    assert "Wajib diisi." in indonesian and "Minimal 2 karakter." in indonesian
    client.cookies.set("sipoke_lang", "en")
    english = client.post("/daftar", data=blank).text
    assert "Required." in english and "At least 2 characters." in english
    assert "Wajib diisi" not in english and "Field required" not in english

    # A service that validates with a schema (the delivery policy) too.
    client.cookies.clear()
    sign_in_as(client, "admin.mekarjaya")
    settings = client.get("/admin/pengantaran")
    data = {"csrf_token": csrf_of(settings.text), "choice_policy": "resident",
            "max_distance_m": "0", "time_budget_min": "90", "no_courier_timeout_min": "10",
            "late_pickup_min": "45", "late_delivery_min": "120", "provider_inhouse": "1"}
    refused = client.post("/admin/pengantaran", data=data)
    assert refused.status_code == 422 and 'id="f-max_distance_m-err"' in refused.text
    assert "Harus lebih dari 0." in refused.text and "Input should" not in refused.text
    client.cookies.set("sipoke_lang", "en")
    assert "Must be more than 0." in client.post("/admin/pengantaran", data=data).text
