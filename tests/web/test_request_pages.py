"""A request through the pages: resident, RW head and operator, with uploads (both DBs)."""

from __future__ import annotations

import re

from core.requests.demo import DEMO_PDF, demo_png
from tests.fixtures import RESIDENT_A, RESIDENT_OTHER_OFFICE
from tests.web.helpers import csrf_of, resident_sign_in, sign_in_as

REQ_LINK = re.compile(r'/permohonan/([0-9a-f-]{36})')


def _new_domisili(client, read_otp) -> str:
    resident_sign_in(client, RESIDENT_A, read_otp)
    page = client.get("/layanan/mekarjaya/domisili/ajukan")
    assert page.status_code == 200
    r = client.post("/layanan/mekarjaya/domisili/ajukan",
                    data={"fields.keperluan": "Buka rekening bank",
                          "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return REQ_LINK.search(r.headers["location"]).group(1)


def _upload(client, request_id: str, code: str, content: bytes, name: str):
    page = client.get(f"/permohonan/{request_id}")
    return client.post(f"/permohonan/{request_id}/unggah/{code}",
                       data={"csrf_token": csrf_of(page.text)},
                       files={"file": (name, content, "image/png")}, follow_redirects=False)


def test_catalog_search_filters_and_htmx_returns_the_list_only(client, demo):
    r = client.get("/layanan/mekarjaya?q=domisili")
    assert r.status_code == 200
    assert "Surat Keterangan Domisili" in r.text and "Tidak Mampu" not in r.text
    partial = client.get("/layanan/mekarjaya?q=usaha", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "Surat Keterangan Usaha" in partial.text


def test_service_page_shows_requirements_fee_time_and_counter_only(client, demo):
    r = client.get("/layanan/mekarjaya/domisili")
    assert "KTP-el pemohon" in r.text and "Gratis" in r.text and "1 hari kerja" in r.text
    counter = client.get("/layanan/mekarjaya/ahli-waris")
    assert "Hanya di loket" in counter.text and "/ajukan" not in counter.text


def test_counter_only_service_has_no_online_form(client, demo, read_otp):
    resident_sign_in(client, RESIDENT_A, read_otp)
    r = client.get("/layanan/mekarjaya/ahli-waris/ajukan", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/layanan/mekarjaya/ahli-waris"
    page = client.get(r.headers["location"])
    assert "Surat Keterangan Ahli Waris tidak dapat diajukan online" in page.text
    assert "Datang ke loket kantor kelurahan" in page.text  # the office's counter note
    assert "Akta kematian pewaris" in page.text and "Buku nikah pewaris" in page.text
    assert "/ajukan" not in page.text and 'name="fields.' not in page.text

    # A form posted by hand goes the same way, and no request is made.
    token = csrf_of(client.get("/layanan/mekarjaya/domisili/ajukan").text)
    r = client.post("/layanan/mekarjaya/ahli-waris/ajukan", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/layanan/mekarjaya/ahli-waris"
    assert client.get("/api/v1/requests", headers=demo.headers(RESIDENT_A)).json() == []


def test_new_request_with_missing_field_keeps_form_and_shows_error(client, demo, read_otp):
    resident_sign_in(client, RESIDENT_A, read_otp)
    page = client.get("/layanan/mekarjaya/sku/ajukan")
    r = client.post("/layanan/mekarjaya/sku/ajukan", data={
        "fields.nama_usaha": "Warung Siti", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'value="Warung Siti"' in r.text
    assert 'id="f-fields.jenis_usaha-err"' in r.text


def test_upload_of_wrong_type_is_shown_next_to_the_requirement(client, demo, read_otp):
    request_id = _new_domisili(client, read_otp)
    r = _upload(client, request_id, "ktp", b"MZ\x90\x00 not an image", "ktp.png")
    assert r.status_code == 422
    assert 'id="err-ktp"' in r.text and "Jenis berkas tidak didukung" in r.text


def test_submit_without_uploads_says_what_is_missing(client, demo, read_otp):
    request_id = _new_domisili(client, read_otp)
    page = client.get(f"/permohonan/{request_id}")
    r = client.post(f"/permohonan/{request_id}/kirim", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert "Unggah semua persyaratan" in r.text


def test_full_journey_resident_rw_operator_counter(client, demo, read_otp, outbox):
    request_id = _new_domisili(client, read_otp)
    for code in ("ktp", "kk"):
        r = _upload(client, request_id, code, demo_png(code), f"{code}.png")
        assert r.status_code == 303, r.text
    page = client.get(f"/permohonan/{request_id}")
    assert page.text.count("Terunggah") == 2
    r = client.post(f"/permohonan/{request_id}/kirim", data={"csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Menunggu surat pengantar RW" in client.get(f"/permohonan/{request_id}").text

    client.cookies.clear()
    sign_in_as(client, "rw05.mekarjaya")
    queue = client.get("/rw")
    assert "Siti Aminah" in queue.text
    bad = client.post(f"/rw/{request_id}/setujui", data={"number": "",
                                                         "csrf_token": csrf_of(queue.text)})
    assert bad.status_code == 422 and "Wajib diisi" in bad.text
    r = client.post(f"/rw/{request_id}/setujui", data={"number": "007/RW05/XI/2026",
                                                       "csrf_token": csrf_of(queue.text)},
                    follow_redirects=False)
    assert r.status_code == 303

    client.cookies.clear()
    sign_in_as(client, "operator.mekarjaya")
    dash = client.get("/operator")
    assert 'id="count-submitted">1<' in dash.text
    detail = client.get(f"/operator/permohonan/{request_id}")
    assert f"/permohonan/{request_id}/berkas/" in detail.text  # scans shown inline
    token = csrf_of(detail.text)
    for action in ("tangani", "proses"):
        r = client.post(f"/operator/permohonan/{request_id}/{action}",
                        data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, (action, r.text)
    scan = client.get(f"/permohonan/{request_id}/berkas/" +
                      re.search(r'/berkas/([0-9a-f-]{36})', detail.text).group(1))
    assert scan.status_code == 200 and scan.headers["content-type"] == "image/png"
    r = client.post(f"/operator/permohonan/{request_id}/selesai", data={"csrf_token": token},
                    files={"file": ("ttd.pdf", DEMO_PDF, "application/pdf")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text

    client.cookies.clear()
    resident_sign_in(client, RESIDENT_A, read_otp)
    page = client.get(f"/permohonan/{request_id}")
    assert "Ambil di kantor" in page.text
    r = client.post(f"/permohonan/{request_id}/ambil", data={"csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/permohonan/{request_id}")
    code = re.search(r'id="pickup-code">(\d{6})<', page.text).group(1)
    assert '<svg' in page.text and "KTP-el pemohon" in page.text  # QR and what to bring

    client.cookies.clear()
    sign_in_as(client, "operator.mekarjaya")
    detail = client.get(f"/operator/permohonan/{request_id}")
    missing = client.post(f"/operator/permohonan/{request_id}/serahkan",
                          data={"pickup_code": code, "originals_checked": ["ktp"],
                                "csrf_token": csrf_of(detail.text)})
    assert missing.status_code == 422 and "dokumen asli" in missing.text
    r = client.post(f"/operator/permohonan/{request_id}/serahkan",
                    data={"pickup_code": code, "originals_checked": ["ktp", "kk"],
                          "csrf_token": csrf_of(detail.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "Tuntas" in client.get(f"/operator/permohonan/{request_id}").text


def test_resident_cannot_open_operator_or_rw_pages(client, demo, read_otp):
    resident_sign_in(client, RESIDENT_A, read_otp)
    for path in ("/operator", "/operator/permohonan", "/rw"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "text/html" in r.headers["content-type"]


def test_other_office_request_answers_404(client, demo, read_otp):
    request_id = _new_domisili(client, read_otp)
    page = client.get(f"/permohonan/{request_id}")
    client.post(f"/permohonan/{request_id}/unggah/ktp", data={"csrf_token": csrf_of(page.text)},
                files={"file": ("ktp.png", demo_png("ktp"), "image/png")})
    client.cookies.clear()
    sign_in_as(client, "operator.abadijaya")
    assert client.get(f"/operator/permohonan/{request_id}").status_code == 404
    client.cookies.clear()
    resident_sign_in(client, RESIDENT_OTHER_OFFICE, read_otp)
    assert client.get(f"/permohonan/{request_id}").status_code == 404
    assert client.get("/layanan/mekarjaya/domisili/ajukan").status_code == 404


def test_too_large_upload_is_refused_next_to_the_requirement(client, demo, read_otp,
                                                             monkeypatch):
    from core.settings import reset_settings_cache

    request_id = _new_domisili(client, read_otp)
    monkeypatch.setenv("SIPOKE_MAX_UPLOAD_BYTES", "2048")
    reset_settings_cache()
    try:
        r = _upload(client, request_id, "ktp", demo_png("ktp") + b"\x00" * 200_000, "ktp.png")
    finally:
        monkeypatch.delenv("SIPOKE_MAX_UPLOAD_BYTES")
        reset_settings_cache()
    assert r.status_code == 422
    assert 'id="err-ktp"' in r.text and "terlalu besar" in r.text
    assert "Belum diunggah" in client.get(f"/permohonan/{request_id}").text


def test_revision_asked_on_the_page_and_sent_back_by_the_resident(client, demo, read_otp):
    from tests.core.request_helpers import submitted_request

    request_id = submitted_request(client, demo.headers(RESIDENT_A))["id"]
    sign_in_as(client, "operator.mekarjaya")
    detail = client.get(f"/operator/permohonan/{request_id}")
    token = csrf_of(detail.text)
    client.post(f"/operator/permohonan/{request_id}/tangani", data={"csrf_token": token})
    short = client.post(f"/operator/permohonan/{request_id}/perbaikan",
                        data={"note": "x", "csrf_token": token})
    assert short.status_code == 422 and 'id="f-note-err"' in short.text
    r = client.post(f"/operator/permohonan/{request_id}/perbaikan",
                    data={"note": "Foto KK buram, mohon foto ulang", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303

    client.cookies.clear()
    resident_sign_in(client, RESIDENT_A, read_otp)
    page = client.get(f"/permohonan/{request_id}")
    assert "Foto KK buram" in page.text and "Kirim perbaikan" in page.text
    assert f"/permohonan/{request_id}/unggah/kk" in page.text
    assert _upload(client, request_id, "kk", demo_png("kk baru"), "kk.png").status_code == 303
    page = client.get(f"/permohonan/{request_id}")
    r = client.post(f"/permohonan/{request_id}/kirim", data={"csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Diverifikasi petugas" in client.get(f"/permohonan/{request_id}").text
