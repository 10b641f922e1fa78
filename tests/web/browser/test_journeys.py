"""Each user's main journey, end to end in a real browser against the live server."""

from __future__ import annotations

import re

import pytest

from tests.web.browser.conftest import wait_for_pin

pytestmark = pytest.mark.browser

SITI = "+6281234560001"


def test_resident_requests_rw_approves_operator_finishes(signed_in, actors, scans, live_server):
    # The resident finds the service by searching the catalog on her phone.
    siti = signed_in(SITI)
    page = siti.page
    siti.go("/layanan/mekarjaya")
    page.fill("#q", "domisili")
    page.wait_for_function(
        "() => !document.querySelector('#service-list').textContent.includes('Tidak Mampu')")
    siti.shot("01-catalog-search")
    page.click("text=Surat Keterangan Domisili")
    page.wait_for_selector("text=KTP-el pemohon")
    siti.shot("02-service")
    page.click("text=Ajukan online")
    page.fill("[name='fields.keperluan']", "Persyaratan membuka rekening bank")
    page.click("text=Lanjut ke unggah persyaratan")
    page.wait_for_url(re.compile(r"/permohonan/[0-9a-f-]{36}$"))
    request_path = page.url.removeprefix(live_server.url)
    for code in ("ktp", "kk"):
        page.set_input_files(f"#file-{code}", str(scans[code]))
        page.click(f"#req-{code} button[type=submit]")
        page.wait_for_selector(f"#req-{code} .badge.ok")
    siti.shot("03-uploaded")
    page.click("text=Kirim permohonan")
    page.wait_for_selector("text=Menunggu surat pengantar RW")
    siti.shot("04-submitted")

    # The RW head approves the cover letter.
    rw = signed_in("rw05.mekarjaya")
    rw.go("/rw")
    card = rw.page.locator(".cover-letter", has_text="Siti Aminah").first
    card.locator("input[name=number]").fill("007/RW05/XI/2026")
    rw.shot("01-queue")
    card.locator("text=Setujui dan terbitkan").click()
    rw.page.wait_for_selector("text=Surat pengantar diterbitkan.")
    rw.shot("02-approved")

    # The operator takes it, sees the scans, processes it and attaches the signed PDF.
    op = signed_in("operator.mekarjaya", phone=False)
    op.go("/operator")
    assert op.page.inner_text("#count-submitted") != "0"
    op.shot("01-dashboard")
    op.go("/operator/permohonan" + request_path.removeprefix("/permohonan"))
    op.page.wait_for_selector("img.scan")
    op.page.click("text=Tangani permohonan ini")
    op.page.click("text=Berkas lengkap — proses")
    op.page.set_input_files("#f-file", str(scans["pdf"]))
    op.shot("02-processing")
    op.page.click("text=Tandai selesai")
    op.page.wait_for_selector("text=Selesai — pilih ambil atau antar")

    # The resident sees it finished and chooses office pickup: code, QR, what to bring.
    siti.go(request_path)
    page.wait_for_selector("text=Dokumen Anda sudah selesai")
    siti.shot("05-finished")
    page.click("form[action$='/ambil'] button")
    page.wait_for_selector("#pickup-code")
    assert re.fullmatch(r"\d{6}", page.inner_text("#pickup-code"))
    assert page.locator("svg.qr").count() == 1
    siti.shot("06-pickup")


def test_delivery_by_inhouse_courier_with_pin_and_exception(signed_in, live_server):
    """The resident chooses delivery and follows the in-house courier, who accepts the job,
    collects the envelope by its QR page, is locked out by wrong PINs (an exception the
    operator resolves), then hands over with the right PIN and brings the originals back."""
    kurir = signed_in("kurir.mekarjaya")
    # The courier's phone shares its position with the status reports (app.js asks for it).
    kurir.context.grant_permissions(["geolocation"], origin=live_server.url)
    kurir.context.set_geolocation({"latitude": -6.3938, "longitude": 106.8441})
    kurir.go("/kurir")
    if kurir.page.inner_text("#duty-state") != "Sedang bertugas":
        kurir.page.click("text=Mulai bertugas")
        kurir.page.wait_for_selector("text=Anda sedang bertugas.")
    kurir.shot("01-on-duty")

    # The demo's finished request (seeded for Siti): choose delivery, pin the map, get quotes.
    siti = signed_in(SITI)
    page = siti.page
    siti.go("/permohonan")
    page.locator(".card", has_text="Selesai — pilih ambil atau antar").first.locator("a").click()
    request_path = page.url.removeprefix(live_server.url)
    page.click("a:has-text('Antar ke rumah')")
    page.wait_for_selector("svg.map")
    box = page.locator("svg.map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.35)
    assert page.input_value("#f-lat") != ""
    siti.shot("01-where")
    page.click("text=Lihat ongkos kirim")
    page.wait_for_selector("label.quote", timeout=20_000)
    siti.shot("02-quotes")
    page.locator("label.quote", has_text="Kurir Kantor").locator("input").check()
    page.click("text=Pesan kurir ini")
    page.wait_for_url(re.compile(r"/lacak$"))

    # The in-house courier gets the offer (the page polls) and accepts it.
    kurir.page.wait_for_selector(".offer", timeout=20_000)
    kurir.shot("02-offer")
    kurir.page.click(".offer >> text=Terima")
    kurir.page.wait_for_selector("#nav-link")
    job_url = kurir.page.url
    kurir.shot("03-job")

    # The resident sees the courier assigned (live polling) and gets the PIN by SMS.
    page.wait_for_selector("#courier-name", timeout=20_000)
    first_pin = wait_for_pin(live_server, SITI, 1)
    siti.shot("03-tracking")

    # The operator prints the envelope; its QR opens the handover page for any courier.
    op = signed_in("operator.mekarjaya", phone=False)
    op.go("/operator/pengantaran")
    op.page.locator("tr", has_text="Siti Aminah").first.locator("a").click()
    op.page.click("text=Cetak ulang QR amplop")
    envelope_url = op.page.inner_text("#envelope-url").strip()
    op.shot("01-envelope")

    kurir.page.goto(envelope_url)
    kurir.page.fill("#f-courier_name", "Budi Kurir")
    kurir.page.click("text=Konfirmasi ambil")
    kurir.page.wait_for_selector("text=Amplop sudah diambil kurir.")
    # The job follows the envelope's scan: no "at the office" left, the envelope is carried.
    kurir.page.goto(job_url)
    kurir.page.wait_for_selector("#job-status:has-text('Amplop dibawa')")
    assert kurir.page.locator("text=Saya di kantor").count() == 0
    assert kurir.page.locator("text=Amplop sudah saya bawa").count() == 0
    kurir.page.click("text=Berangkat ke pemohon")
    kurir.page.wait_for_selector("text=Saya di lokasi pemohon")
    kurir.page.click("text=Saya di lokasi pemohon")
    kurir.page.wait_for_selector("#job-status:has-text('Di lokasi pemohon')")

    # The resident follows the courier: state, name and position on the offline map.
    siti.go(request_path + "/lacak")
    page.wait_for_selector("#delivery-state:has-text('Dalam perjalanan')")
    page.wait_for_selector("svg.map circle.pin-courier")
    siti.shot("04-courier-on-map")

    # Five wrong PINs lock the handover: an exception on the operator's dashboard.
    kurir.page.goto(envelope_url)
    wrong = "000000" if first_pin != "000000" else "111111"
    for _ in range(5):
        kurir.page.fill("#f-pin", wrong)
        kurir.page.click("text=Periksa PIN")
        kurir.page.wait_for_load_state()
    kurir.page.wait_for_selector("text=PIN terkunci")
    kurir.shot("04-pin-locked")
    op.go("/operator")
    op.page.wait_for_selector("tr.exception:has-text('PIN terkunci')")
    op.shot("02-exception")
    op.page.click("tr.exception >> text=Buka")
    op.page.click("text=Kirim PIN baru")
    op.page.wait_for_selector("text=Tersimpan.")
    new_pin = wait_for_pin(live_server, SITI, 2)
    op.go("/operator")
    op.page.wait_for_selector("#exception-count:has-text('0')")

    # The right PIN at the door; the courier takes the originals back to the office.
    kurir.page.goto(envelope_url)
    kurir.page.fill("#f-pin", new_pin)
    kurir.page.click("text=Periksa PIN")
    kurir.page.wait_for_selector("#pin-ok")
    for box_ in kurir.page.locator("input[name=checked]").all():
        box_.check()
    kurir.page.click("text=Dokumen asli sudah saya terima")
    # Still at the door: the courier has the originals; they are not at the office yet.
    kurir.page.wait_for_selector("#originals-state:has-text('sudah diterima kurir')")
    assert kurir.page.locator("text=Dokumen asli sudah dibawa kurir ke kantor.").count() == 0
    kurir.shot("05-handed-over")
    # The job says the same: the originals go to the office; no "failed, returning" any more.
    kurir.page.goto(job_url)
    kurir.page.wait_for_selector("#job-status:has-text('Membawa dokumen asli ke kantor')")
    assert kurir.page.locator("text=Gagal antar, kembali ke kantor").count() == 0
    assert kurir.page.locator("text=Sudah diserahkan").count() == 0
    assert kurir.page.locator("text=Saya di lokasi pemohon").count() == 0
    kurir.shot("06-bringing-originals")

    siti.go(request_path + "/lacak")
    page.wait_for_selector("#delivery-state:has-text('Dokumen asli dibawa kembali')")
    siti.shot("05-received")

    op.go("/operator/pengantaran")
    op.page.locator("tr", has_text="Siti Aminah").first.locator("a").click()
    for box_ in op.page.locator("input[name=originals_checked]").all():
        box_.check()
    op.page.click("text=Dokumen asli sudah diterima")
    op.page.wait_for_selector("#delivery-state:has-text('Selesai')")
    op.shot("03-completed")
    siti.go(request_path)
    page.wait_for_selector("text=Tuntas")

    # Only now are the originals at the office; the job ended with the delivery, so the
    # courier has no active job and is free for the next offer.
    kurir.page.goto(envelope_url)
    kurir.page.wait_for_selector("#originals-state:has-text('diperiksa di kantor')")
    kurir.go("/kurir")
    kurir.page.wait_for_selector("text=Tidak ada tugas aktif.")
    kurir.shot("07-free-again")


GALLERY = {
    None: ["/", "/masuk", "/daftar", "/layanan/mekarjaya", "/verify"],
    "admin.mekarjaya": ["/operator/mitra", "/operator/biaya", "/operator/serah-terima",
                        "/admin/kantor-saya", "/admin/katalog", "/admin/katalog/domisili",
                        "/admin/staf", "/admin/pengantaran"],
    "platform": ["/admin/kantor"],
}


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_page_renders_without_console_errors(signed_in, actors, viewport):
    """A screenshot of each remaining page on a phone and a desktop; none may log an error
    (a missing asset, a CSP violation, a script error)."""
    phone = viewport == "phone"
    for who, paths in GALLERY.items():
        actor = signed_in(who, phone=phone) if who else actors("visitor", phone=phone)
        for path in paths:
            actor.go(path)
            assert actor.page.locator("main h1").count() >= 1, path
            label = path.strip("/").replace("/", "-") or "home"
            actor.shot(f"{viewport}-{label}")
    english = actors("english", phone=phone)
    english.go("/bahasa/en?next=/daftar")
    assert english.page.locator("html").get_attribute("lang") == "en"
    english.page.click("text=Register and send code")
    english.page.wait_for_selector(".error")
    english.shot(f"{viewport}-register-errors-en")
